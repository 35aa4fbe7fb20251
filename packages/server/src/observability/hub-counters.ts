/**
 * @module hub-counters
 * Plain counters bumped on hot paths (an integer add, no label lookups). `/metrics` and `/api/v1/stats` read them.
 */

export class HubCounters {
  readonly startedAt = Date.now();
  connectionsTotal = 0;
  connectionsActive = 0;
  readonly messagesIn = new Map<string, number>();
  readonly messagesOut = new Map<string, number>();
  /** Event frames queued for delivery (one per subscriber reached). */
  eventsOut = 0;
  /** Queue statistics shared by every connection. */
  readonly queue = { drops: 0, gaps: 0 };
  readonly gapsByReason = new Map<string, number>();
  readonly disconnects = new Map<number, number>();
  published = 0;
  /** The hub's own HTTP API: requests answered, those answered 5xx, and their response times added up (ms). */
  readonly http = { requests: 0, errors: 0, totalMs: 0 };

  countIn(op: string): void {
    this.messagesIn.set(op, (this.messagesIn.get(op) ?? 0) + 1);
  }

  countOut(type: string): void {
    this.messagesOut.set(type, (this.messagesOut.get(type) ?? 0) + 1);
  }

  countGap(reason: string): void {
    this.gapsByReason.set(reason, (this.gapsByReason.get(reason) ?? 0) + 1);
  }

  countDisconnect(code: number): void {
    this.disconnects.set(code, (this.disconnects.get(code) ?? 0) + 1);
  }

  totalIn(): number {
    let n = 0;
    for (const v of this.messagesIn.values()) n += v;
    return n;
  }

  totalOut(): number {
    let n = this.eventsOut;
    for (const v of this.messagesOut.values()) n += v;
    return n;
  }
}
