import { collectDefaultMetrics, Registry } from 'prom-client';
import { registerProcessMetrics } from '../../src/observability/processMetrics';

/** Name → [type, help] of every family a registry exposes. */
async function families(registry: Registry): Promise<Map<string, [string, string]>> {
  const out = new Map<string, [string, string]>();
  for (const m of await registry.getMetricsAsJSON()) out.set(m.name, [String(m.type), m.help]);
  return out;
}

describe('registerProcessMetrics', () => {
  it("exposes exactly prom-client's default metrics: same names, types, help and order", async () => {
    const ours = new Registry();
    registerProcessMetrics(ours);
    const theirs = new Registry();
    collectDefaultMetrics({ register: theirs });
    expect([...(await families(ours))]).toEqual([...(await families(theirs))]);
  });

  it('counts CPU time: user + system equals the total, and each grows with work', async () => {
    const registry = new Registry();
    registerProcessMetrics(registry);
    const read = async (): Promise<{ user: number; system: number; total: number }> => {
      const values = new Map<string, number>();
      for (const m of await registry.getMetricsAsJSON()) values.set(m.name, m.values[0]?.value ?? NaN);
      return {
        user: values.get('process_cpu_user_seconds_total')!,
        system: values.get('process_cpu_system_seconds_total')!,
        total: values.get('process_cpu_seconds_total')!,
      };
    };
    const first = await read();
    const start = process.cpuUsage();
    // Burn measurable CPU (at least 20 ms of user time) between two scrapes.
    while (process.cpuUsage(start).user < 20_000) Math.sqrt(Math.random());
    const second = await read();
    expect(second.user - first.user).toBeGreaterThanOrEqual(0.02);
    expect(second.system).toBeGreaterThanOrEqual(first.system);
    expect(second.total).toBeCloseTo(second.user + second.system, 6);
  });
});
