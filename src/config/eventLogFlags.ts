// Flags of ours shared by both binaries: where the event log lives and where local state goes.

import {
  EVENT_LOG_OFF,
  NATS_SECURITY_FLAGS,
  isNatsServer,
  type NatsSecurityFiles,
} from '../persistence/eventLogLocation';
import type { ConfigDeps } from './deps';
import type { FlagSpec } from './flagSpec';
import type { ParsedFlags } from './flags';
import { invalidOptions, requireFile } from './validation';

/**
 * Validates the --event-log syntax (src/persistence/eventLogLocation.ts) so that a typo fails at start-up
 * with the other flag errors rather than when the log is opened; returns the reason it is wrong, if it is.
 */
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
    .find((s) => !isNatsServer(s));
  return bad === undefined
    ? undefined
    : `${JSON.stringify(bad)} is not file:<dir> or nats://host:port (want "" for the embedded file log, ` +
        'file:<dir>, or nats://host:port[,nats://host2:port2])';
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

/**
 * Checks the NATS security flags against each other and against --event-log, and that every named file
 * exists; the event log reads and checks their contents when it opens.
 */
export function eventLogSecurity(f: ParsedFlags, deps: ConfigDeps): NatsSecurityFiles {
  const out: Partial<Record<keyof NatsSecurityFiles, string>> = {};
  for (const [field, flag] of Object.entries(NATS_SECURITY_FLAGS) as [keyof NatsSecurityFiles, string][]) {
    const value = f.string(flag);
    if (value === '') continue;
    requireFile(deps, `--${flag}`, value);
    out[field] = value;
  }
  const given = Object.keys(out) as (keyof NatsSecurityFiles)[];
  const spec = f.string('event-log').trim();
  if (given.length > 0 && !/^(nats|tls):\/\//.test(spec)) {
    invalidOptions(
      `--${NATS_SECURITY_FLAGS[given[0]!]} is only for a NATS event log (--event-log=nats://...)`,
    );
  }
  if (out.tlsKey !== undefined && out.tlsCert === undefined)
    invalidOptions(`--${NATS_SECURITY_FLAGS.tlsKey} needs --${NATS_SECURITY_FLAGS.tlsCert}`);
  if (out.tlsCert !== undefined && out.tlsKey === undefined)
    invalidOptions(`--${NATS_SECURITY_FLAGS.tlsCert} needs --${NATS_SECURITY_FLAGS.tlsKey}`);
  if (out.creds !== undefined && /^[a-z]+:\/\/[^/\s]*@/i.test(spec)) {
    invalidOptions(
      `--event-log carries credentials and --${NATS_SECURITY_FLAGS.creds} is set: give one of them`,
    );
  }
  return out;
}

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
        'or off for none. NATS credentials go in the URL: nats://user:password@host:port or ' +
        'nats://token@host:port; tls://host:port requires TLS.',
    },
    {
      name: NATS_SECURITY_FLAGS.tlsCa,
      kind: 'string',
      default: '',
      help: 'CA certificate (PEM) that signed the NATS server certificate; turns on TLS to NATS.',
    },
    {
      name: NATS_SECURITY_FLAGS.tlsCert,
      kind: 'string',
      default: '',
      help: 'Client certificate (PEM) to present to NATS (mTLS); needs --event-log-tls-key.',
    },
    {
      name: NATS_SECURITY_FLAGS.tlsKey,
      kind: 'string',
      default: '',
      help: 'Private key (PEM) of --event-log-tls-cert.',
    },
    {
      name: NATS_SECURITY_FLAGS.creds,
      kind: 'string',
      default: '',
      help: 'NATS credentials file (user JWT and nkey seed, as written by nsc); read again at every reconnect.',
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
