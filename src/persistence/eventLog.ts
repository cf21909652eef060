/**
 * The one entry point the server and agent use: `openEventLog` picks the backend from `--event-log`
 * and wires metrics, logging and malformed-record reporting into it.
 */
import { join } from 'node:path';
import { Registry } from '../observability/promClient';
import { dropReporter, type DropReporter } from './dropReporter';
import { EventLogError, errorText } from './errors';
import type { EventLog } from './eventLogApi';
import { parseEventLogLocation, type EventLogLocation, type NatsSecurityFiles } from './eventLogLocation';
import { FileEventLog, type FileLogTuning } from './fileEventLog';
import { promEventLogMetrics, type EventLogMetrics } from './metrics';
import type { NatsLogTuning } from './natsEventLog';
import { RetryingOpenLog } from './retryingOpenLog';
import { processToken } from './subjects';
import { stderrLogger, type EventLogLogger, type EventProcess, type MalformedHandler } from './types';

export type { EventLog } from './eventLogApi';

export interface EventLogSpec {
  /** `''` (embedded log under dataDir), `file:<dir>`, or `nats://host:port[,nats://...]`. */
  eventLog: string;
  dataDir: string;
  process: EventProcess;
  registry?: Registry;
  logger?: EventLogLogger;
  /** Called for each stored record replay had to skip (also counted and logged). */
  onMalformed?: MalformedHandler;
  file?: Partial<FileLogTuning>;
  nats?: Partial<NatsLogTuning>;
  /** TLS files and a .creds file for NATS (user/password or a token go in the URL). */
  natsSecurity?: NatsSecurityFiles;
}

/**
 * Where the NATS outbox lives inside the data directory: one per process identity, named by the same
 * token as its subjects (only [A-Za-z0-9_-] and %XX, so any id is a safe file name).
 */
export function outboxDir(dataDir: string, process: EventProcess): string {
  return join(dataDir, 'outbox', processToken(process));
}

/** Opens the log; throws when it cannot be opened (tools and tests want to know). */
export async function openEventLog(spec: EventLogSpec): Promise<EventLog> {
  return openWith(spec, parseEventLogLocation(spec.eventLog, spec.dataDir), deps(spec));
}

/**
 * Opens the log for a server or agent: only a malformed spec throws. A log that cannot be opened now
 * (an unwritable or full disk, a lock still held) is reported and opened again in the background while
 * the process runs, its events waiting in a bounded buffer: the tunnel never waits for its audit trail.
 */
export async function openEventLogForProcess(spec: EventLogSpec): Promise<EventLog> {
  const location = parseEventLogLocation(spec.eventLog, spec.dataDir);
  if (location.kind === 'nats' && spec.dataDir === '') {
    throw new EventLogError('invalid-spec', 'the NATS event log needs --data-dir for its outbox');
  }
  const d = deps(spec);
  try {
    return await openWith(spec, location, d);
  } catch (err) {
    d.logger.error('cannot open the event log; the tunnel runs and it is opened again in the background', {
      err: errorText(err),
    });
    return new RetryingOpenLog(location.kind, () => openWith(spec, location, d), d);
  }
}

interface Deps {
  readonly metrics: EventLogMetrics;
  readonly logger: EventLogLogger;
  readonly onMalformed: MalformedHandler;
  readonly dropped: DropReporter;
}

function deps(spec: EventLogSpec): Deps {
  const location = parseEventLogLocation(spec.eventLog, spec.dataDir);
  const logger = spec.logger ?? stderrLogger;
  const metrics = promEventLogMetrics(spec.registry ?? new Registry(), location.kind);
  const onMalformed: MalformedHandler = (record) => {
    metrics.addMalformed(1);
    logger.warn('skipped a malformed event record', { ...record });
    spec.onMalformed?.(record);
  };
  return { metrics, logger, onMalformed, dropped: dropReporter(metrics, logger) };
}

async function openWith(spec: EventLogSpec, location: EventLogLocation, deps: Deps): Promise<EventLog> {
  if (location.kind === 'file') return FileEventLog.open(location.dir, { ...deps, tuning: spec.file });
  if (spec.dataDir === '')
    throw new EventLogError('invalid-spec', 'the NATS event log needs --data-dir for its outbox');
  // The NATS client is loaded only by a process that logs to NATS: the default embedded log never needs its
  // modules (several megabytes of heap in every agent of a fleet).
  const [{ NatsEventLog }, { natsConnectSettings }] = await Promise.all([
    import('./natsEventLog'),
    import('./natsSecurity'),
  ]);
  // Before the outbox is opened: bad credentials or TLS files fail the start, naming flag and file.
  const connect = natsConnectSettings(location.servers, spec.natsSecurity);
  return NatsEventLog.open(connect, outboxDir(spec.dataDir, spec.process), spec.process, {
    ...deps,
    tuning: spec.nats,
  });
}
