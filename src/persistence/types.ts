import { redactCredentials } from '../observability/redact';
import type { LifecycleEvent } from '../events';

/** The logging surface the event log needs; pino and console both fit. */
export interface EventLogLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Which process owns a log: decides the NATS subject prefix and the restart reason in recovery. */
export type EventProcess = { kind: 'server'; serverId: string } | { kind: 'agent'; agentId: string };

export interface ReplayOptions {
  /** Only events whose `time` is at or after this instant. */
  since?: Date;
  filter?: (event: LifecycleEvent) => boolean;
}

/** A record that could not be turned into an event; replay skips it and reports it here. */
export interface MalformedRecord {
  readonly source: string;
  readonly problem: 'bad-checksum' | 'truncated' | 'bad-json' | 'invalid-event';
  readonly detail: string;
}

export type MalformedHandler = (record: MalformedRecord) => void;

/** Writes to stderr so a full outbox or a corrupt record is never silent when no logger is given. */
export const stderrLogger: EventLogLogger = {
  info: (msg, fields) => process.stderr.write(line('info', msg, fields)),
  warn: (msg, fields) => process.stderr.write(line('warn', msg, fields)),
  error: (msg, fields) => process.stderr.write(line('error', msg, fields)),
};

function line(level: string, msg: string, fields?: Record<string, unknown>): string {
  // Like every printed line: no NATS credentials, whichever field carries a URL.
  return `${redactCredentials(JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields }))}\n`;
}

export function matchesReplay(event: LifecycleEvent, opts: ReplayOptions | undefined): boolean {
  if (opts?.since !== undefined && Date.parse(event.time) < opts.since.getTime()) return false;
  return opts?.filter === undefined || opts.filter(event);
}
