/**
 * The process_* and nodejs_* metrics (what prom-client's `collectDefaultMetrics` registers, as the Go
 * binaries export process_* and go_*), without loading `@opentelemetry/api`: prom-client's CPU metric
 * requires all of it (51 modules) for exemplars, which we never enable. The three CPU counters are therefore
 * ours, with prom-client's names, help and values; every other default metric is prom-client's own file,
 * registered in prom-client's order. test/observability/processMetrics.test.ts holds the exposition to
 * `collectDefaultMetrics`'s.
 */
import type { Registry } from 'prom-client';
import { Counter } from './promClient';

type DefaultMetric = (registry: Registry, config: { eventLoopMonitoringPrecision: number }) => void;

/** prom-client's default metrics after the CPU counters, in `collectDefaultMetrics`'s order. */
const DEFAULT_METRIC_FILES = [
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'eventLoopLag',
  // prom-client registers it only where Node can list active resources (Node 17+, so always here).
  ...(typeof process.getActiveResourcesInfo === 'function' ? ['processResources'] : []),
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
  'gc',
] as const;

/** prom-client's default sampling resolution of the event loop delay, in ms (`collectDefaultMetrics`). */
const EVENT_LOOP_MONITORING_PRECISION_MS = 10;

/** process_cpu_{user,system}_seconds_total and process_cpu_seconds_total, as prom-client defines them. */
function registerCpuTotals(registry: Registry): void {
  let last = process.cpuUsage();
  const user = new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers: [registry],
    // One metric's collect sets all three, so a scrape sees one consistent reading.
    collect() {
      const now = process.cpuUsage();
      const userMicros = now.user - last.user;
      const systemMicros = now.system - last.system;
      last = now;
      user.inc(userMicros / 1e6);
      system.inc(systemMicros / 1e6);
      total.inc((userMicros + systemMicros) / 1e6);
    },
  });
  const system = new Counter({
    name: 'process_cpu_system_seconds_total',
    help: 'Total system CPU time spent in seconds.',
    registers: [registry],
  });
  const total = new Counter({
    name: 'process_cpu_seconds_total',
    help: 'Total user and system CPU time spent in seconds.',
    registers: [registry],
  });
}

export function registerProcessMetrics(registry: Registry): void {
  registerCpuTotals(registry);
  const config = { eventLoopMonitoringPrecision: EVENT_LOOP_MONITORING_PRECISION_MS };
  for (const file of DEFAULT_METRIC_FILES) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- one prom-client file each, see above
    (require(`prom-client/lib/metrics/${file}`) as DefaultMetric)(registry, config);
  }
}
