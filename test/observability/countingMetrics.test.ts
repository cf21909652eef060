import { Gauge, Registry } from 'prom-client';
import { CountingCounter, TrackingGauge } from '../../src/observability/countingMetrics';
import { parseExposition } from './exposition';

async function samples(registry: Registry, name: string): Promise<string[]> {
  return parseExposition(await registry.metrics()).get(name)?.samples ?? [];
}

describe('counting metrics', () => {
  afterEach(() => jest.restoreAllMocks());

  it('counts in children and hands prom-client the sums only when the registry is read', async () => {
    const registry = new Registry();
    const c = new CountingCounter({ name: 'c_total', help: 'h', labelNames: ['a', 'b'], registry });
    // prom-client assigns `inc` per instance, not on the prototype.
    const promInc = jest.spyOn(c.metric, 'inc');
    const child = c.child({ a: 'x', b: 'y' });
    for (let i = 0; i < 1000; i++) child.inc();
    c.inc({ a: 'x', b: 'y' }, 5);
    c.inc({ a: 'x', b: 'z' });
    expect(promInc).not.toHaveBeenCalled();
    expect(await samples(registry, 'c_total')).toEqual([
      'c_total{a="x",b="y"} 1005',
      'c_total{a="x",b="z"} 1',
    ]);
    expect(promInc).toHaveBeenCalledTimes(2);
    child.inc(2);
    expect(await samples(registry, 'c_total')).toEqual([
      'c_total{a="x",b="y"} 1007',
      'c_total{a="x",b="z"} 1',
    ]);
  });

  it('shows an unlabelled counter at 0 before its first increment, as prom-client does', async () => {
    const registry = new Registry();
    const c = new CountingCounter({ name: 'u_total', help: 'h', labelNames: [], registry });
    expect(await samples(registry, 'u_total')).toEqual(['u_total 0']);
    c.child({}).inc(3);
    expect(await samples(registry, 'u_total')).toEqual(['u_total 3']);
  });

  it('tracks gauge values per label set, set and inc/dec alike', async () => {
    const registry = new Registry();
    const promSet = jest.spyOn(Gauge.prototype, 'set');
    const g = new TrackingGauge({ name: 'g', help: 'h', labelNames: ['kind'], registry });
    g.inc({ kind: 'dial' });
    g.inc({ kind: 'dial' });
    g.dec({ kind: 'dial' });
    g.set({ kind: 'tunnel' }, 7);
    expect(promSet).not.toHaveBeenCalled();
    expect(await samples(registry, 'g')).toEqual(['g{kind="dial"} 1', 'g{kind="tunnel"} 7']);
    g.dec({ kind: 'dial' });
    expect(await samples(registry, 'g')).toEqual(['g{kind="dial"} 0', 'g{kind="tunnel"} 7']);
  });
});
