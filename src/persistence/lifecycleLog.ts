/**
 * Start-up and shut-down of a process's lifecycle log: open the configured backend, fold what the last
 * run left, close what it left open (`server-restart` / `agent-restart`), and hand the actors a recorder
 * whose every event is appended and folded into the live counters.
 */
import type { Registry } from 'prom-client';
import {
  eventFactory,
  type AgentEventFactory,
  type LifecycleEvent,
  type ServerEventFactory,
} from '../events';
import { recording } from '../actors/recorder';
import { openEventLog } from './eventLog';
import type { EventLog } from './eventLogApi';
import type { NatsSecurityFiles } from './natsSecurity';
import { closingEvents, fold, liveState, type RecoveryState } from './recovery';
import type { EventLogLogger } from './types';

export interface LifecycleLog<F> {
  readonly log: EventLog;
  /** The event factory the actors use: each event is appended and counted. */
  readonly events: F;
  /** Everything recorded so far, this run and earlier ones (counters continue across restarts). */
  readonly state: RecoveryState;
  /** How many events recovery appended to close what the previous run left open. */
  readonly recoveredClosings: number;
  close(): Promise<void>;
}

interface Common {
  eventLog: string;
  dataDir: string;
  natsSecurity?: NatsSecurityFiles;
  registry: Registry;
  logger: EventLogLogger;
}

async function open<F extends ServerEventFactory | AgentEventFactory>(
  factory: F,
  log: EventLog,
): Promise<LifecycleLog<F>> {
  const previous = await fold(log.replay());
  const live = liveState(previous);
  const closings = closingEvents(previous, factory);
  for (const event of closings) {
    log.append(event);
    live.apply(event);
  }
  const sink = (event: LifecycleEvent): void => {
    log.append(event);
    live.apply(event);
  };
  return {
    log,
    events: recording(factory, sink),
    state: live.state,
    recoveredClosings: closings.length,
    close: () => log.close(),
  };
}

export async function openServerLifecycleLog(
  opts: Common & { serverId: string },
): Promise<LifecycleLog<ServerEventFactory>> {
  const log = await openEventLog({
    eventLog: opts.eventLog,
    dataDir: opts.dataDir,
    natsSecurity: opts.natsSecurity,
    process: { kind: 'server', serverId: opts.serverId },
    registry: opts.registry,
    logger: opts.logger,
  });
  return open(eventFactory({ serverId: opts.serverId }), log);
}

export async function openAgentLifecycleLog(
  opts: Common & { agentId: string },
): Promise<LifecycleLog<AgentEventFactory>> {
  const log = await openEventLog({
    eventLog: opts.eventLog,
    dataDir: opts.dataDir,
    natsSecurity: opts.natsSecurity,
    process: { kind: 'agent', agentId: opts.agentId },
    registry: opts.registry,
    logger: opts.logger,
  });
  return open(eventFactory({ agentId: opts.agentId }), log);
}
