/**
 * @module metrics/collector
 * The Linux system collector: `new SystemCollector({ procRoot? })`, then `collect(Date.now())` once per interval
 * (1 s by default) and `close()` on shutdown. It reads `/proc` and `statfs` directly.
 *
 * Naming: `<scope>.<subsystem>.<quantity>`, scope `system` (the host) or `process` (the hub itself). Quantities end
 * with their unit: `_bytes`, `_bytes_per_s`, `_per_s`, `_percent`, `_ms`, `_s`. Two families are unit-free by
 * definition: `system.cpu.<state>` (percent of that CPU's time) and `system.load.<window>` (run-queue averages).
 * Percentages are 0–100 (except `process.cpu.percent`, where 100 is one full core). Rates and CPU shares cover the
 * interval since the previous collect and are absent from the first one.
 *
 * | metric | labels | meaning |
 * |---|---|---|
 * | `system.cpu.usage` | `cpu` (`total`, `0`, `1`, ...) | busy time: 100 − idle − iowait, percent |
 * | `system.cpu.user` | `cpu` | user + nice, percent |
 * | `system.cpu.system` | `cpu` | system + irq + softirq, percent |
 * | `system.cpu.iowait` | `cpu` | idle waiting for I/O, percent |
 * | `system.cpu.steal` | `cpu` | taken by the hypervisor, percent |
 * | `system.cpu.idle` | `cpu` | idle, percent |
 * | `system.memory.total_bytes` | | MemTotal |
 * | `system.memory.used_bytes` | | MemTotal − MemAvailable |
 * | `system.memory.available_bytes` | | MemAvailable |
 * | `system.memory.free_bytes` | | MemFree (unused entirely) |
 * | `system.memory.cached_bytes` | | Cached + SReclaimable |
 * | `system.memory.buffers_bytes` | | Buffers |
 * | `system.memory.used_percent` | | used / total |
 * | `system.swap.total_bytes` | | SwapTotal |
 * | `system.swap.used_bytes` | | SwapTotal − SwapFree |
 * | `system.swap.used_percent` | | used / total (0 without swap) |
 * | `system.load.1m`, `system.load.5m`, `system.load.15m` | | load averages |
 * | `system.uptime_s` | | seconds since boot |
 * | `system.disk.total_bytes` | `mount`, `device`, `fstype` | filesystem size |
 * | `system.disk.used_bytes` | `mount`, `device`, `fstype` | (blocks − free blocks) × block size |
 * | `system.disk.free_bytes` | `mount`, `device`, `fstype` | space available to unprivileged users |
 * | `system.disk.used_percent` | `mount`, `device`, `fstype` | used / (used + available), as `df` shows it |
 * | `system.disk.read_bytes_per_s` | `device` | bytes read per second |
 * | `system.disk.write_bytes_per_s` | `device` | bytes written per second |
 * | `system.disk.reads_per_s` | `device` | read operations completed per second |
 * | `system.disk.writes_per_s` | `device` | write operations completed per second |
 * | `system.disk.io_util_percent` | `device` | share of the interval with I/O in flight |
 * | `system.net.rx_bytes_per_s`, `system.net.tx_bytes_per_s` | `interface` | bytes received / sent per second |
 * | `system.net.rx_packets_per_s`, `system.net.tx_packets_per_s` | `interface` | packets per second |
 * | `system.net.rx_errors_per_s`, `system.net.tx_errors_per_s` | `interface` | errors per second |
 * | `system.net.rx_drops_per_s`, `system.net.tx_drops_per_s` | `interface` | dropped packets per second |
 * | `process.cpu.percent` | | hub CPU time (user + system), 100 = one core |
 * | `process.memory.rss_bytes` | | resident set size |
 * | `process.memory.external_bytes` | | memory of C++ objects bound to JS (buffers) |
 * | `process.heap.used_bytes` | | V8 heap in use |
 * | `process.heap.total_bytes` | | V8 heap reserved |
 * | `process.uptime_s` | | seconds since the hub started |
 * | `process.eventloop.lag_ms` | | mean event-loop delay over the interval |
 * | `process.eventloop.lag_p99_ms` | | 99th percentile event-loop delay over the interval |
 * | `process.eventloop.lag_max_ms` | | worst event-loop delay over the interval |
 *
 * What is skipped and why (pseudo filesystems, loop/ram devices, partitions, veth interfaces, idle devices) is
 * documented in each part's module.
 */
export { parseCpuTimes } from './cpu-times.js';
export { isPartition, parseDiskstats } from './disk-io.js';
export { type FsSpace, type Mount, parseMounts, parseRealFsTypes, type StatfsFn } from './disk-usage.js';
export { parseMeminfo } from './memory-info.js';
export { parseNetDev } from './net-io.js';
export { type CollectorPart, SystemCollector, type SystemCollectorOptions } from './system-collector.js';
