/**
 * Issue 11.12: a single-target endpoint whose every request fails stays in service (there is nowhere else to send
 * its traffic) but `/health` reports it as `failing`, not `healthy`. Real Worker, real traffic to the scriptable
 * targets mock, the real `TargetHealth` object.
 */
import { describe, expect, it } from "vitest";
import type { HealthReport } from "../../src/durable/health/health-report";
import { settleHealthReports } from "../../src/durable/health/health-snapshot";
import { callGateway, gateway } from "./gateway";
import { observed, scenarioId, script, targetUrl } from "./health-harness";

async function send(name: string, vars: Record<string, string>, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const call = await callGateway(`/${name}/v1/chat/completions`, { method: "POST", body: "{}" }, vars);
    statuses.push(call.response.status);
    await call.response.arrayBuffer();
    await call.settled;
  }
  await settleHealthReports();
  return statuses;
}

async function health(name: string, vars: Record<string, string>) {
  const report = (await (await gateway(`/health?endpoint=${name}`, {}, vars)).json()) as HealthReport;
  return report.endpoints[name]!.targets;
}

describe("/health: failing", () => {
  it("a lone target that fails every request is reported failing and still receives the traffic", async () => {
    const name = scenarioId("failing-lone");
    await script(name, "t1", { fallback: { status: 502 } });
    const vars = {
      ENDPOINTS: JSON.stringify({ [name]: { targets: [targetUrl("t1", name)], transport: "fetch" } }),
    };

    // One short of the consecutive-failures rule (5 by default): nothing to report yet.
    expect(await send(name, vars, 4)).toEqual([502, 502, 502, 502]);
    expect((await health(name, vars))[0]).toMatchObject({ state: "healthy", failing_reason: null });

    expect(await send(name, vars, 3)).toEqual([502, 502, 502]);
    expect((await health(name, vars))[0]).toMatchObject({
      state: "failing",
      failing_reason: "consecutive_failures",
      requests: 7,
      successes: 0,
      success_rate: 0,
      ejected_until: null,
    });
    // Every request still went to it.
    expect((await observed(name)).t1?.requests).toBe(7);

    // It recovers: one success ends the run of failures.
    await script(name, "t1", { fallback: { status: 200 } });
    expect(await send(name, vars, 1)).toEqual([200]);
    expect((await health(name, vars))[0]).toMatchObject({ state: "healthy", failing_reason: null });
  });
});
