import type { TargetConfig } from "../transport/endpoint";

/** Weighted random choice among the targets, leaving out `avoid` when another target exists. */
export function pickTarget(
  targets: readonly TargetConfig[],
  avoid: string | null,
  random: () => number,
): TargetConfig {
  const pool = targets.length > 1 && avoid !== null ? targets.filter((t) => t.url !== avoid) : targets;
  const total = pool.reduce((sum, t) => sum + Math.max(0, t.weight), 0);
  let point = random() * total;
  for (const t of pool) {
    point -= Math.max(0, t.weight);
    if (point < 0) return t;
  }
  const last = pool[pool.length - 1] ?? targets[0];
  if (last === undefined) throw new Error("endpoint has no targets");
  return last;
}
