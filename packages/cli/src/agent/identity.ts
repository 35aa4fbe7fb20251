/**
 * @module agent/identity
 * Who the agent's host is: its id (a flag, VIGIL_AGENT_HOST_ID, or the hostname made into one channel segment), its
 * machine id (`/etc/machine-id`), and the description sent with `agent_register` (OS, kernel, cores, memory, boot
 * time, agent version).
 */
import { readFileSync } from 'node:fs';
import { arch, cpus, hostname, release, totalmem, type, uptime } from 'node:os';
import type { AgentRegistration } from '@vigil/protocol';

export const HOST_ID = /^[A-Za-z0-9_:-]{1,64}$/;

/** The hostname as a host id: characters outside [A-Za-z0-9_:-] become `-`, at most 64. */
export function hostIdFrom(name: string): string {
  const id = name.replace(/[^A-Za-z0-9_:-]/g, '-').slice(0, 64);
  return id === '' ? 'host' : id;
}

export function machineId(): string {
  for (const path of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(path, 'utf8').trim();
      if (id !== '') return id.slice(0, 128);
    } catch {
      // try the next
    }
  }
  return '';
}

export function registration(
  version: string,
  intervalMs: number,
  labels: Record<string, string>,
  now = Date.now(),
): AgentRegistration {
  return {
    hostname: hostname().slice(0, 255),
    machine_id: machineId(),
    os: type(),
    kernel: release(),
    arch: arch(),
    cores: cpus().length,
    memory_bytes: totalmem(),
    boot_time: Math.round(now - uptime() * 1000),
    agent_version: version,
    interval_ms: intervalMs,
    labels,
  };
}
