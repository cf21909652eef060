/**
 * What actor unit tests share: a real klog logger whose lines are kept, real metrics read back through
 * their Prometheus text, and event factories that record what they make.
 */
import type { LifecycleEvent } from '../../src/events';
import { eventFactory } from '../../src/events';
import { recording } from '../../src/actors/recorder';
import { createLogger, type Logger } from '../../src/observability/logger';
import { AgentMetrics } from '../../src/observability/agentMetrics';
import { ServerMetrics } from '../../src/observability/serverMetrics';
import { agentInstruments } from '../../src/agent/agentInstruments';
import { serverInstruments } from '../../src/server/serverInstruments';
import { parsePrometheusText, type Labels, type Metrics } from '../helpers/metrics';
import type { AgentInstruments, ServerInstruments } from '../../src/actors/instruments';

export interface KeptLog {
  readonly log: Logger;
  readonly lines: string[];
  /** Lines that contain `text`. */
  with(text: string): string[];
}

/** A logger at -v=5 whose lines are kept instead of written (TEST_LOGS=1 prints them as well). */
export function keptLog(component = 'test'): KeptLog {
  const lines: string[] = [];
  const log = createLogger({
    verbosity: 5,
    component,
    sink: (line) => {
      lines.push(line);
      if (process.env.TEST_LOGS) process.stderr.write(`${line}\n`);
    },
  });
  return { log, lines, with: (text) => lines.filter((l) => l.includes(text)) };
}

export interface MetricsKit<I> {
  /** What the actors report to (the process's own adapter over the metrics). */
  readonly instruments: I;
  /** The metrics as a scrape of `/metrics` would show them. */
  read(): Promise<Metrics>;
  /** One series' value now (see Metrics.value). */
  value(name: string, labels?: Labels): Promise<number | undefined>;
}

function metricsKit<M extends ServerMetrics | AgentMetrics, I>(
  metrics: M,
  adapt: (m: M) => I,
): MetricsKit<I> {
  const read = async (): Promise<Metrics> => parsePrometheusText(await metrics.registry.metrics());
  return {
    instruments: adapt(metrics),
    read,
    value: async (name, labels) => (await read()).value(name, labels),
  };
}

export const serverMetricsKit = (): MetricsKit<ServerInstruments> =>
  metricsKit(new ServerMetrics(), serverInstruments);

export const agentMetricsKit = (): MetricsKit<AgentInstruments> =>
  metricsKit(new AgentMetrics(), agentInstruments);

export function serverEvents(): { factory: ReturnType<typeof makeServerFactory>; events: LifecycleEvent[] } {
  const events: LifecycleEvent[] = [];
  return { factory: recording(makeServerFactory(), (e) => events.push(e)), events };
}

export function agentEvents(): { factory: ReturnType<typeof makeAgentFactory>; events: LifecycleEvent[] } {
  const events: LifecycleEvent[] = [];
  return { factory: recording(makeAgentFactory(), (e) => events.push(e)), events };
}

function makeServerFactory() {
  return eventFactory({ serverId: 'server-under-test' });
}

function makeAgentFactory() {
  return eventFactory({ agentId: 'agent-under-test' });
}
