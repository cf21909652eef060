/**
 * What `--event-log` and its companion flags mean: the one home of these words, which the flag parsing in
 * src/config checks at start-up and the event log obeys when it opens. No I/O here, so importing it costs
 * nothing.
 */
import { join } from 'node:path';
import { redactCredentials } from '../observability/redact';
import { EventLogError } from './errors';

/** `--event-log=off`: no lifecycle log at all (for benchmarks against the log, or deliberate choice). */
export const EVENT_LOG_OFF = 'off';

export type EventLogLocation =
  { readonly kind: 'file'; readonly dir: string } | { readonly kind: 'nats'; readonly servers: string[] };

/** Where the embedded log lives inside the data directory. */
export const EVENTS_SUBDIR = 'events';

const NATS_SERVER = /^(nats|tls):\/\/[^\s/]+$/;

/** One server of a NATS `--event-log` list (`nats://[user:password@]host:port` or `tls://...`). */
export const isNatsServer = (s: string): boolean => NATS_SERVER.test(s);

/** Parses `--event-log` (and `--data-dir` for the default); throws EventLogError('invalid-spec'). */
export function parseEventLogLocation(eventLog: string, dataDir: string): EventLogLocation {
  const spec = eventLog.trim();
  if (spec === '') {
    if (dataDir === '') throw new EventLogError('invalid-spec', 'the embedded event log needs --data-dir');
    return { kind: 'file', dir: join(dataDir, EVENTS_SUBDIR) };
  }
  if (spec.startsWith('file:')) {
    const dir = spec.slice('file:'.length);
    if (dir === '') throw new EventLogError('invalid-spec', '--event-log=file: needs a directory');
    return { kind: 'file', dir };
  }
  const servers = spec.split(',').map((s) => s.trim());
  for (const s of servers) {
    if (!isNatsServer(s)) {
      throw new EventLogError(
        'invalid-spec',
        `--event-log: ${JSON.stringify(redactCredentials(s))} is not file:<dir> or nats://host:port`,
      );
    }
  }
  return { kind: 'nats', servers };
}

/** The NATS security files as flags give them; empty flags are absent. */
export interface NatsSecurityFiles {
  readonly tlsCa?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly creds?: string;
}

/** The flag of each NATS security file, also named in the event log's own errors. */
export const NATS_SECURITY_FLAGS = {
  tlsCa: 'event-log-tls-ca',
  tlsCert: 'event-log-tls-cert',
  tlsKey: 'event-log-tls-key',
  creds: 'event-log-creds',
} as const satisfies Record<keyof NatsSecurityFiles, string>;
