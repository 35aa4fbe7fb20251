/**
 * @module snapshots
 * Stateful channels (such as `system.status`) register a provider of their current state; the gateway sends it as a
 * `snapshot` frame right after a subscription to that channel, unless the client asked for `snapshot: false`.
 */
import { matchChannel } from '@vigil/protocol';

export type SnapshotProvider = (channel: string) => unknown | undefined;

export class SnapshotRegistry {
  private readonly providers: { pattern: string; provide: SnapshotProvider }[] = [];

  register(pattern: string, provide: SnapshotProvider): void {
    this.providers.push({ pattern, provide });
  }

  /** The current state of `channel`, or undefined when it is not a stateful channel or has no state yet. */
  get(channel: string): unknown | undefined {
    for (const p of this.providers) {
      if (matchChannel(p.pattern, channel)) {
        const data = p.provide(channel);
        if (data !== undefined) return data;
      }
    }
    return undefined;
  }
}
