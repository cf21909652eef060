/**
 * How a process treats its lifecycle log at start-up. A log that cannot be opened or read now (NATS down,
 * an unwritable or full disk) never stops or delays the process: the persistence layer reports it and
 * keeps trying in the background. What still throws is a malformed configuration; an explicit one stops the
 * process (the operator asked for an audit trail), the default one is reported loudly and the tunnel runs
 * without a log, because refusing to proxy would be worse than missing an audit trail.
 */
import type { Logger } from '../observability/logger';
import { EVENT_LOG_OFF, type NatsSecurityFiles } from './eventLogLocation';
import type { EventLogLogger } from './types';

export interface StartupLogConfig {
  /** `''` (embedded under dataDir), `file:<dir>`, or `nats://...`. */
  eventLog: string;
  dataDir: string;
  /** --event-log-max-bytes; unset: the embedded log's default bound. */
  maxBytes?: number;
  /** Whether --event-log or --data-dir was given explicitly. */
  explicit: boolean;
  /** --event-log-tls-* and --event-log-creds. */
  natsSecurity?: NatsSecurityFiles;
}

export function eventLogLogger(log: Logger): EventLogLogger {
  return {
    info: (msg, fields) => log.info(msg, fields),
    warn: (msg, fields) => log.warn(msg, fields),
    error: (msg, fields) => log.error(msg, undefined, fields),
  };
}

export async function lifecycleLogOrNone<T>(
  config: StartupLogConfig,
  log: Logger,
  open: (logger: EventLogLogger) => Promise<T>,
): Promise<T | null> {
  if (config.eventLog.trim() === EVENT_LOG_OFF) {
    log.info('event log is off (--event-log=off): lifecycle events are not recorded');
    return null;
  }
  try {
    return await open(eventLogLogger(log));
  } catch (err) {
    if (config.explicit) throw err;
    log.error(
      'cannot open the default embedded event log; running WITHOUT an event log (set --data-dir or --event-log)',
      err,
      {
        dataDir: config.dataDir,
      },
    );
    return null;
  }
}
