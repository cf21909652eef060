/**
 * `konnectivity-events`: read the lifecycle event log (NATS or the embedded log) as a live tail or
 * an audit table. `runCli` is the whole program behind an injectable I/O, so tests run it in-process;
 * `main` binds it to the real process.
 */
import type { LifecycleEvent } from '../events';
import { redactCredentials } from '../observability/redact';
import { EventLogError, errorText } from '../persistence/errors';
import { openEventReader, type EventReader } from '../persistence/eventReader';
import { asksForVersion, versionLine } from '../config/version';
import { parseArgs, USAGE, UsageError, type CliOptions } from './args';
import { AuditReport } from './audit';
import { eventMatcher } from './filter';
import { auditTable, eventLine } from './format';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  now(): number;
  /** Ends `tail --follow` (SIGINT in the real process). */
  signal?: AbortSignal;
}

const NAME = 'konnectivity-events';

/** Exit code: 0 done, 1 the log could not be read, 2 bad command line. */
export async function runCli(argv: readonly string[], rawIo: CliIo): Promise<number> {
  // Error texts may quote --event-log; a NATS password in it must not reach a terminal or a CI log.
  const io: CliIo = { ...rawIo, stderr: (text) => rawIo.stderr(redactCredentials(text)) };
  if (asksForVersion(argv)) {
    io.stdout(`${versionLine(NAME)}\n`);
    return 0;
  }
  let opts: CliOptions;
  try {
    opts = parseArgs(argv, io.now());
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`${NAME}: ${err.message} (see --help)\n`);
    return 2;
  }
  if (opts.command === 'help') {
    io.stdout(USAGE);
    return 0;
  }

  let reader: EventReader;
  try {
    reader = await openEventReader({
      eventLog: opts.eventLog,
      dataDir: opts.dataDir,
      natsSecurity: opts.natsSecurity,
      onMalformed: (r) => io.stderr(`${NAME}: skipped a malformed record (${r.problem}) at ${r.source}\n`),
    });
  } catch (err) {
    io.stderr(`${NAME}: ${errorText(err)}\n`);
    // A bad flag (a malformed URL, a TLS file that is missing or not PEM) is a usage error.
    return err instanceof EventLogError && (err.reason === 'invalid-spec' || err.reason === 'unreadable')
      ? 2
      : 1;
  }
  try {
    const events = reader.read({ since: opts.since, follow: opts.follow, signal: io.signal });
    const matches = eventMatcher(opts);
    if (opts.command === 'tail') await tail(events, matches, opts, io);
    else await audit(events, matches, opts, io);
    return 0;
  } catch (err) {
    io.stderr(`${NAME}: reading ${reader.location}: ${errorText(err)}\n`);
    return 1;
  } finally {
    await reader.close();
  }
}

async function tail(
  events: AsyncIterable<LifecycleEvent>,
  matches: (e: LifecycleEvent) => boolean,
  opts: CliOptions,
  io: CliIo,
): Promise<void> {
  const render = opts.json ? (e: LifecycleEvent) => `${JSON.stringify(e)}\n` : eventLine;
  const last: LifecycleEvent[] = [];
  for await (const event of events) {
    if (!matches(event)) continue;
    if (opts.limit === undefined) {
      io.stdout(render(event));
      continue;
    }
    last.push(event);
    if (last.length > opts.limit) last.shift();
  }
  for (const event of last) io.stdout(render(event));
}

async function audit(
  events: AsyncIterable<LifecycleEvent>,
  matches: (e: LifecycleEvent) => boolean,
  opts: CliOptions,
  io: CliIo,
): Promise<void> {
  const report = new AuditReport(opts.side);
  for await (const event of events) if (matches(event)) report.add(event);
  const rows = report.result();
  if (opts.json) for (const row of rows) io.stdout(`${JSON.stringify(row)}\n`);
  else io.stdout(auditTable(rows));
}

export function main(argv: readonly string[] = process.argv.slice(2)): void {
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // `konnectivity-events tail | head` closes our stdout early: that is the reader being done, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') process.stderr.write(`${NAME}: writing output: ${err.message}\n`);
    process.exit(err.code === 'EPIPE' ? 0 : 1);
  });
  runCli(argv, {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    now: Date.now,
    signal: abort.signal,
  })
    .then((code) => {
      process.exitCode = code;
    })
    .catch((err: unknown) => {
      process.stderr.write(`${NAME}: ${errorText(err)}\n`);
      process.exitCode = 1;
    })
    .finally(() => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    });
}

if (require.main === module) main();
