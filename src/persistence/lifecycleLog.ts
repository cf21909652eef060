/**
 * Start-up and shut-down of a process's lifecycle log: open the configured backend, hand the actors a
 * recorder whose every event is appended and folded into the live counters, and recover in the
 * background: fold what earlier runs left (from the last checkpoint), close what they left open
 * (`server-restart` / `agent-restart`) and add their counters to the live ones. Nothing here waits for
 * the log: a NATS outage or a broken disk delays recovery, never the tunnel or its readiness.
 */
import type { Registry } from 'prom-client';
import { performance } from 'node:perf_hooks';
import {
  eventFactory,
  type AgentEventFactory,
  type LifecycleEvent,
  type ServerEventFactory,
} from '../events';
import { recording } from '../events/recorder';
import { EventLogError, errorText } from './errors';
import { openEventLogForProcess, type EventLogSpec } from './eventLog';
import type { EventLog } from './eventLogApi';
import type { NatsSecurityFiles } from './natsSecurity';
import { closingEvents, liveCounters, liveState, type RecoveryCounters } from './recovery';
import type { EventLogLogger, EventProcess } from './types';

export interface LifecycleLog<F> {
  readonly log: EventLog;
  /** The event factory the actors use: each event is appended and counted. */
  readonly events: F;
  /**
   * The cumulative counters of everything recorded: this run from the start, earlier runs' once
   * `recovered` has resolved (counters continue across restarts).
   */
  readonly counters: RecoveryCounters;
  /**
   * Resolves, once the log was readable and recovery ran, with how many events it appended to close what
   * earlier runs left open; rejects only if the log is closed first.
   */
  readonly recovered: Promise<number>;
  close(): Promise<void>;
}

interface Common {
  eventLog: string;
  dataDir: string;
  natsSecurity?: NatsSecurityFiles;
  registry: Registry;
  logger: EventLogLogger;
  /** Backend tuning (`--event-log-max-bytes` lands in `file.retainBytes`). */
  file?: EventLogSpec['file'];
}

function open<F extends ServerEventFactory | AgentEventFactory>(
  factory: F,
  log: EventLog,
  logger: EventLogLogger,
): LifecycleLog<F> {
  const live = liveCounters();
  const sink = (event: LifecycleEvent): void => {
    log.append(event);
    live.apply(event);
  };
  const started = performance.now();
  const recovered = log.recover().then((previous) => {
    const closings = closingEvents(previous, factory);
    const closed = liveState(previous);
    for (const event of closings) {
      log.append(event);
      closed.apply(event);
    }
    live.absorb(closed.state);
    logger.info('event log recovered', {
      folded: previous.events,
      closed: closings.length,
      ms: Math.round(performance.now() - started),
    });
    return closings.length;
  });
  recovered.catch((err: unknown) => {
    if (!(err instanceof EventLogError && err.reason === 'closed')) {
      logger.error('event log recovery failed', { err: errorText(err) });
    }
  });
  return {
    log,
    events: recording(factory, sink),
    counters: live.counters,
    recovered,
    close: () => log.close(),
  };
}

export function openServerLifecycleLog(
  opts: Common & { serverId: string },
): Promise<LifecycleLog<ServerEventFactory>> {
  return openFor(
    opts,
    { kind: 'server', serverId: opts.serverId },
    eventFactory({ serverId: opts.serverId }),
  );
}

export function openAgentLifecycleLog(
  opts: Common & { agentId: string },
): Promise<LifecycleLog<AgentEventFactory>> {
  return openFor(opts, { kind: 'agent', agentId: opts.agentId }, eventFactory({ agentId: opts.agentId }));
}

async function openFor<F extends ServerEventFactory | AgentEventFactory>(
  opts: Common,
  process: EventProcess,
  factory: F,
): Promise<LifecycleLog<F>> {
  const log = await openEventLogForProcess({
    eventLog: opts.eventLog,
    dataDir: opts.dataDir,
    natsSecurity: opts.natsSecurity,
    process,
    registry: opts.registry,
    logger: opts.logger,
    ...(opts.file ? { file: opts.file } : {}),
  });
  return open(factory, log, opts.logger);
}
