/**
 * CPU time of a process from `/proc/<pid>/stat` (utime + stime, user and kernel, all its threads),
 * so the bench can divide workerd's CPU by the requests it served in a measured window.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Clock ticks per second of `/proc` times (`getconf CLK_TCK`; 100 on Linux almost everywhere). */
const CLOCK_TICKS_PER_S = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU time of `pid` in milliseconds, or null when it cannot be read. */
export function cpuMs(pid) {
  const split = cpuSplitMs(pid);
  return split === null ? null : split.user + split.system;
}

/**
 * User and system (kernel) CPU time of `pid` in milliseconds, or null. The kernel share matters on loopback: a
 * `connect()` or a write to a socket on 127.0.0.1 runs the peer's side of TCP in the sender's system call, so it
 * is counted to the process that opened or wrote the socket.
 */
export function cpuSplitMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces: split after its closing one.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 of stat(5) are utime and stime; after the cut, field 3 is at index 0.
    const toMs = (ticks) => (Number(ticks) / CLOCK_TICKS_PER_S) * 1000;
    return { user: toMs(fields[11]), system: toMs(fields[12]) };
  } catch {
    return null;
  }
}

/** Resolution of `cpuMs` in milliseconds (one clock tick). */
export const CPU_TICK_MS = 1000 / CLOCK_TICKS_PER_S;
