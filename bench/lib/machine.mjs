/** The machine a run measured, for results.json and the README. */
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { workerdVersion } from "./workerd.mjs";

export function machineInfo() {
  let cpuModel = cpus()[0]?.model ?? "unknown";
  try {
    const match = /model name\s*:\s*(.+)/.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (match) cpuModel = match[1].trim();
  } catch {}
  return {
    cpu_model: cpuModel,
    cores: cpus().length,
    memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform} ${process.arch}`,
    node: process.version,
    workerd: workerdVersion(),
    date: new Date().toISOString(),
  };
}
