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
import { parsePrometheusText, type Metrics } from '../helpers/metrics';

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

export function serverMetricsKit(): {
  instruments: ReturnType<typeof serverInstruments>;
  read(): Promise<Metrics>;
} {
  const metrics = new ServerMetrics();
  return {
    instruments: serverInstruments(metrics),
    read: async () => parsePrometheusText(await metrics.registry.metrics()),
  };
}

export function agentMetricsKit(): {
  instruments: ReturnType<typeof agentInstruments>;
  read(): Promise<Metrics>;
} {
  const metrics = new AgentMetrics();
  return {
    instruments: agentInstruments(metrics),
    read: async () => parsePrometheusText(await metrics.registry.metrics()),
  };
}

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
