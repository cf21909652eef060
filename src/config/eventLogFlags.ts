// Flags of ours shared by both binaries: where the event log lives and where local state goes.

import * as path from 'node:path';

import type { FlagSpec } from './flagSpec';

/** Where events are appended: the embedded file store (under --data-dir unless given) or NATS. */
export type EventLogConfig =
  | { readonly kind: 'file'; readonly dir: string }
  | { readonly kind: 'nats'; readonly servers: readonly string[] };

/** Subdirectory of --data-dir used by the embedded file log when --event-log is empty. */
export const EMBEDDED_EVENT_LOG_SUBDIR = 'events';

// The same syntax src/persistence/eventLog.ts (parseEventLogLocation) accepts, checked here so that a
// typo fails at start-up with the other flag errors rather than when the log is opened.
const NATS_SERVER = /^(nats|tls):\/\/[^\s/]+$/;

/** Validates the --event-log syntax; returns the reason it is wrong, if it is. */
/** `--event-log=off`: no lifecycle log at all (for benchmarks against the log, or deliberate choice). */
export const EVENT_LOG_OFF = 'off';

export function checkEventLog(raw: string): string | undefined {
  const spec = raw.trim();
  if (spec === '' || spec === EVENT_LOG_OFF) return undefined;
  if (spec.startsWith('file:')) {
    return spec.slice('file:'.length) === ''
      ? 'file: needs a directory, e.g. file:/var/lib/konnectivity/events'
      : undefined;
  }
  const bad = spec
    .split(',')
    .map((s) => s.trim())
    .find((s) => !NATS_SERVER.test(s));
  return bad === undefined
    ? undefined
    : `${JSON.stringify(bad)} is not file:<dir> or nats://host:port (want "" for the embedded file log, ` +
        'file:<dir>, or nats://host:port[,nats://host2:port2])';
}

/** Resolves an already validated --event-log value. */
export function parseEventLog(raw: string, dataDir: string): EventLogConfig {
  const spec = raw.trim();
  if (spec === '') return { kind: 'file', dir: path.join(dataDir, EMBEDDED_EVENT_LOG_SUBDIR) };
  if (spec.startsWith('file:')) return { kind: 'file', dir: spec.slice('file:'.length) };
  return { kind: 'nats', servers: spec.split(',').map((s) => s.trim()) };
}

/**
 * The server and the agent get different default data directories so that both can run on one
 * host (a control-plane node that is also a worker) without sharing state.
 */
/** `--event-log-max-bytes` default: 256 MiB (the embedded log's size bound; oldest segments go first). */
export const DEFAULT_EVENT_LOG_MAX_BYTES = 256 * 1024 * 1024;
/** Below this a log would hold a handful of events: almost certainly a unit mistake (KiB for MiB). */
const MIN_EVENT_LOG_MAX_BYTES = 1024 * 1024;

export const DEFAULT_SERVER_DATA_DIR = '/var/lib/konnectivity';
export const DEFAULT_AGENT_DATA_DIR = '/var/lib/konnectivity-agent';

export function eventLogFlagSpecs(defaultDataDir: string): readonly FlagSpec[] {
  return [
    {
      name: 'event-log',
      kind: 'string',
      default: '',
      check: checkEventLog,
      help:
        'Where tunnel events are recorded: empty for the embedded file log under --data-dir, ' +
        'file:<dir> for a file log in <dir>, nats://host:port[,nats://host2:port2] for NATS JetStream, ' +
        'or off for none.',
    },
    {
      name: 'event-log-max-bytes',
      kind: 'int',
      default: DEFAULT_EVENT_LOG_MAX_BYTES,
      check: (v) =>
        v < MIN_EVENT_LOG_MAX_BYTES ? `must be at least ${MIN_EVENT_LOG_MAX_BYTES} (1 MiB)` : undefined,
      help:
        'Size bound of the embedded event log in bytes: beyond it the oldest segments are deleted. ' +
        'Start-up reads a checkpoint plus the records after it, never more than this.',
    },
    {
      name: 'data-dir',
      kind: 'string',
      default: defaultDataDir,
      check: (v) => (v === '' ? 'must not be empty' : undefined),
      help: 'Directory for local state (the embedded event log and its snapshots).',
    },
  ];
}
