/**
 * The command line of `konnectivity-events`, read with node:util's parseArgs (this tool has no Go
 * counterpart whose pflag quirks it must copy). Flags take `--name=value` or `--name value`, like the
 * server's; anything unknown or malformed is a UsageError (one line on stderr, exit code 2).
 */
import { EVENT_SCHEMA, EVENT_TYPES, type Entity, type EventType } from '../events';
import { NATS_SECURITY_FLAGS, type NatsSecurityFiles } from '../persistence/eventLogLocation';
import { parseSince } from './duration';
import { parseArgs as nodeParseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly reason = 'usage';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export type Command = 'tail' | 'audit' | 'help';

export interface CliOptions {
  readonly command: Command;
  readonly eventLog: string;
  readonly dataDir: string;
  readonly agent?: string;
  readonly server?: string;
  readonly dest?: string;
  readonly types?: ReadonlySet<EventType>;
  readonly since?: Date;
  readonly follow: boolean;
  readonly limit?: number;
  readonly json: boolean;
  readonly side: 'server' | 'agent';
  /** --event-log-tls-ca, --event-log-tls-cert, --event-log-tls-key, --event-log-creds. */
  readonly natsSecurity: NatsSecurityFiles;
}

const VALUE_FLAGS = [
  'event-log',
  'data-dir',
  'agent',
  'server',
  'dest',
  'type',
  'since',
  'limit',
  'side',
  ...Object.values(NATS_SECURITY_FLAGS),
] as const;
const BOOLEAN_FLAGS = { follow: 'f', json: undefined, help: 'h' } as const;
const ONLY_FOR: Readonly<Record<string, Command>> = { follow: 'tail', limit: 'tail', side: 'audit' };

const OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  ...Object.fromEntries(VALUE_FLAGS.map((name) => [name, { type: 'string' }])),
  ...Object.fromEntries(
    Object.entries(BOOLEAN_FLAGS).map(([name, short]) => [
      name,
      short === undefined ? { type: 'boolean' } : { type: 'boolean', short },
    ]),
  ),
};

/**
 * node:util's parser in its lenient mode, so that what it would reject becomes our own one-line usage
 * errors, and booleans also take `--name=true|false` (Node 20's strict mode has no `--no-` or `=false`).
 */
interface Scanned {
  readonly values: Map<string, string>;
  readonly flags: Set<string>;
  readonly positional: string[];
}

function scan(argv: readonly string[]): Scanned {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const positional: string[] = [];
  const { tokens } = nodeParseArgs({
    args: [...argv],
    options: OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positional.push(token.value);
      continue;
    }
    if (token.kind === 'option-terminator') throw new UsageError('unknown flag --');
    const { name, rawName, value } = token;
    const type = Object.hasOwn(OPTIONS, name) ? OPTIONS[name]!.type : undefined;
    if (type === undefined) throw new UsageError(`unknown flag ${rawName}`);
    if (type === 'boolean') {
      if (value === undefined || value === 'true') flags.add(name);
      else if (value === 'false') flags.delete(name);
      else throw new UsageError(`--${name} takes true or false, not ${JSON.stringify(value)}`);
    } else {
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      values.set(name, value);
    }
  }
  return { values, flags, positional };
}

export function parseArgs(argv: readonly string[], now: number): CliOptions {
  const { values, flags, positional } = scan(argv);

  if (flags.has('help') || positional[0] === 'help') return defaults('help');
  if (positional.length !== 1) {
    throw new UsageError(
      positional.length === 0 ? 'missing command (tail or audit)' : `unexpected ${positional[1]}`,
    );
  }
  const command = positional[0];
  if (command !== 'tail' && command !== 'audit')
    throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  for (const [flag, only] of Object.entries(ONLY_FOR)) {
    if ((flags.has(flag) || values.has(flag)) && command !== only)
      throw new UsageError(`--${flag} is only for ${only}`);
  }

  const eventLog = values.get('event-log') ?? '';
  const dataDir = values.get('data-dir') ?? '';
  if (eventLog === '' && dataDir === '') throw new UsageError('one of --event-log or --data-dir is required');
  const sinceText = values.get('since');
  const since = sinceText === undefined ? undefined : parseSince(sinceText, now);
  if (sinceText !== undefined && since === undefined) {
    throw new UsageError(
      `--since ${JSON.stringify(sinceText)} is neither a duration (1h, 30m) nor an RFC 3339 time`,
    );
  }
  const limitText = values.get('limit');
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) {
    throw new UsageError(`--limit must be a positive integer, not ${JSON.stringify(limitText)}`);
  }
  if (limit !== undefined && flags.has('follow'))
    throw new UsageError('--limit cannot be combined with --follow');
  const side = values.get('side') ?? 'server';
  if (side !== 'server' && side !== 'agent')
    throw new UsageError(`--side must be server or agent, not ${JSON.stringify(side)}`);

  const natsSecurity: Partial<Record<keyof NatsSecurityFiles, string>> = {};
  for (const [field, flag] of Object.entries(NATS_SECURITY_FLAGS) as [keyof NatsSecurityFiles, string][]) {
    const value = values.get(flag);
    if (value === undefined || value === '') continue;
    if (!/^(nats|tls):\/\//.test(eventLog.trim()))
      throw new UsageError(`--${flag} is only for a NATS event log (--event-log=nats://...)`);
    natsSecurity[field] = value;
  }

  return {
    command,
    eventLog,
    natsSecurity,
    dataDir,
    agent: values.get('agent'),
    server: values.get('server'),
    dest: values.get('dest'),
    types: values.has('type') ? parseTypes(values.get('type')!) : undefined,
    since,
    follow: flags.has('follow'),
    limit,
    json: flags.has('json'),
    side,
  };
}

/** `dial.failed`, an entity (`dial`, `dial.*`), or a comma list of those. */
function parseTypes(text: string): ReadonlySet<EventType> {
  const out = new Set<EventType>();
  for (const raw of text.split(',')) {
    const item = raw.trim().replace(/\.\*$/, '');
    const matched = EVENT_TYPES.filter((t) => t === item || EVENT_SCHEMA[t].entity === (item as Entity));
    if (matched.length === 0) throw new UsageError(`--type ${JSON.stringify(raw)} matches no event type`);
    matched.forEach((t) => out.add(t));
  }
  return out;
}

function defaults(command: Command): CliOptions {
  return { command, eventLog: '', dataDir: '', follow: false, json: false, side: 'server', natsSecurity: {} };
}

export const USAGE = `usage: konnectivity-events <tail|audit> [flags]

  tail    print lifecycle events, oldest first (--follow keeps printing new ones)
  audit   per agent and destination: connections, bytes, failures, longest connection

flags:
  --event-log=<nats://host:port[,...]|file:<dir>>  where the events are (default: the embedded log);
                          NATS credentials in the URL: nats://user:password@host:port, nats://token@host:port
  --event-log-tls-ca=<pem>    CA of the NATS server certificate (turns on TLS)
  --event-log-tls-cert=<pem>  client certificate for NATS (mTLS), with --event-log-tls-key=<pem>
  --event-log-creds=<file>    NATS .creds file (user JWT and nkey seed)
  --data-dir=<dir>        the server's or agent's --data-dir (embedded log in <dir>/events)
  --agent=<id>            only events about this agent
  --server=<id>           only events written by, or about the tunnel to, this server
  --dest=<host[:port]>    only dials and connections to this destination
  --type=<type|entity>    e.g. dial.failed, conn, agent.connected (comma list)
  --since=<1h|RFC3339>    only events at or after this time
  --json                  JSON lines instead of a table
  --version               print the version and exit
  tail:  --follow, -f     keep printing new events;  --limit=N  only the last N
  audit: --side=server|agent  whose view of connections to count (default server)
`;
