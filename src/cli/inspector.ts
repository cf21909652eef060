/**
 * `konnectivity-inspector`: the fleet view. Reads the whole lifecycle event log (NATS JetStream or an
 * embedded log directory), keeps following it, and serves the inspector page over it at
 * http://<listen>/inspector/: every server and agent, who holds whom, connections and failures, at any
 * past moment. Read-only: it never writes to the log.
 */
import { errorText } from '../persistence/errors';
import {
  NATS_SECURITY_FLAGS,
  parseEventLogLocation,
  type NatsSecurityFiles,
} from '../persistence/eventLogLocation';
import { openEventReader, type EventReader } from '../persistence/eventReader';
import { natsConnectSettings } from '../persistence/natsSecurity';
import { redactCredentials } from '../observability/redact';
import { createLogger, type Logger } from '../observability/logger';
import { startHandlerServer, type RunningHttpServer } from '../observability/httpEndpoints';
import { inspectorHandler } from '../inspector/http/inspectorHandler';
import { fleetBackend, type FleetSourceStatus } from '../inspector/fleet/fleetBackend';
import { FleetStore } from '../inspector/fleet/fleetStore';
import { asksForVersion, versionLine } from '../config/version';

const NAME = 'konnectivity-inspector';
/** After the log could not be read (NATS down), try again this often; the page shows the error meanwhile. */
export const REREAD_DELAY_MS = 2_000;

export const USAGE = `Usage: ${NAME} --listen=HOST:PORT (--event-log=nats://HOST:PORT[,...] | --data-dir=DIR | --event-log=file:DIR)

Serves the fleet inspector at http://HOST:PORT/inspector/, folded from the lifecycle event log.

  --listen=HOST:PORT   where to serve the page (default 127.0.0.1:8099)
  --event-log=SPEC     nats://host:port (comma-separated for a cluster) or file:DIR
  --data-dir=DIR       a process's data directory: its embedded event log
  --event-log-tls-ca=FILE, --event-log-tls-cert=FILE, --event-log-tls-key=FILE, --event-log-creds=FILE
                       NATS over TLS (tls://) with a private CA and a client certificate, and a .creds
                       file, as the server and the agent take them (user:password@ goes in the URL)
  -v=N                 log verbosity
  --help               this text
`;

export class InspectorUsageError extends Error {
  override readonly name = 'InspectorUsageError';
  readonly reason = 'usage' as const;
}

export interface InspectorOptions {
  readonly host: string;
  readonly port: number;
  readonly eventLog: string;
  readonly dataDir: string;
  readonly verbosity: number;
  /** --event-log-tls-ca, --event-log-tls-cert, --event-log-tls-key, --event-log-creds. */
  readonly natsSecurity: NatsSecurityFiles;
}

const SECURITY_FIELD_OF_FLAG: ReadonlyMap<string, keyof NatsSecurityFiles> = new Map(
  (Object.entries(NATS_SECURITY_FLAGS) as [keyof NatsSecurityFiles, string][]).map(([field, flag]) => [
    flag,
    field,
  ]),
);

export function parseInspectorArgs(argv: readonly string[]): InspectorOptions | 'help' {
  let listen = '127.0.0.1:8099';
  let eventLog = '';
  let dataDir = '';
  let verbosity = 0;
  const natsSecurity: Partial<Record<keyof NatsSecurityFiles, string>> = {};
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') return 'help';
    const m = /^--?([a-z-]+|v)=(.*)$/.exec(arg);
    if (!m) throw new InspectorUsageError(`unknown argument ${JSON.stringify(arg)}`);
    const [, name, value = ''] = m;
    if (name === 'listen') listen = value;
    else if (name === 'event-log') eventLog = value;
    else if (name === 'data-dir') dataDir = value;
    else if (name === 'v') verbosity = Number.parseInt(value, 10) || 0;
    else {
      const field = name === undefined ? undefined : SECURITY_FIELD_OF_FLAG.get(name);
      if (field === undefined) throw new InspectorUsageError(`unknown flag --${name}`);
      if (value !== '') natsSecurity[field] = value;
    }
  }
  const hp = /^(\[[^\]]+\]|[^:]*):(\d+)$/.exec(listen);
  const port = hp ? Number(hp[2]) : NaN;
  if (!hp || !(port >= 0 && port <= 65535)) {
    throw new InspectorUsageError(`--listen: ${JSON.stringify(listen)} is not HOST:PORT`);
  }
  if (eventLog === '' && dataDir === '') throw new InspectorUsageError('give --event-log or --data-dir');
  for (const field of Object.keys(natsSecurity) as (keyof NatsSecurityFiles)[]) {
    if (!/^(nats|tls):\/\//.test(eventLog.trim())) {
      throw new InspectorUsageError(
        `--${NATS_SECURITY_FLAGS[field]} is only for a NATS event log (--event-log=nats://...)`,
      );
    }
  }
  return {
    host: (hp[1] ?? '').replace(/^\[|\]$/g, ''),
    port,
    eventLog,
    dataDir,
    verbosity,
    natsSecurity,
  };
}

export interface RunningInspector {
  readonly port: number;
  readonly store: FleetStore;
  close(): Promise<void>;
}

/** Starts reading the log and serving the page; reading goes on (and retries) until `close()`. */
export async function startFleetInspector(options: InspectorOptions, log: Logger): Promise<RunningInspector> {
  // A bad location or a missing or malformed TLS or .creds file stops the start, naming the flag: retrying
  // could never fix it.
  const location = parseEventLogLocation(options.eventLog, options.dataDir);
  if (location.kind === 'nats') natsConnectSettings(location.servers, options.natsSecurity);
  const store = new FleetStore();
  const status: { location: string; error: string | null } = {
    // Shown on the page and in logs: the URL's password never is.
    location: redactCredentials(options.eventLog || options.dataDir),
    error: null,
  };
  const stop = new AbortController();
  const readLoop = async (): Promise<void> => {
    while (!stop.signal.aborted) {
      let reader: EventReader | null = null;
      try {
        reader = await openEventReader({
          eventLog: options.eventLog,
          dataDir: options.dataDir,
          natsSecurity: options.natsSecurity,
          onMalformed: (r) => log.warn('skipped a malformed record', { problem: r.problem, at: r.source }),
        });
        status.location = reader.location;
        // Re-reading from the start after an error keeps the projection exact: it is a fold of the log.
        store.reset();
        status.error = null;
        for await (const event of reader.read({ follow: true, signal: stop.signal })) {
          store.add(event);
        }
      } catch (err) {
        if (stop.signal.aborted) break;
        status.error = redactCredentials(errorText(err));
        log.warn('cannot read the event log; retrying', { location: status.location, error: status.error });
      } finally {
        await reader?.close().catch(() => undefined);
      }
      if (!stop.signal.aborted) await delay(REREAD_DELAY_MS, stop.signal);
    }
  };
  const reading = readLoop();
  let server: RunningHttpServer;
  try {
    server = await startHandlerServer({
      name: 'inspector',
      host: options.host,
      port: options.port,
      handlers: [inspectorHandler(fleetBackend(store, (): FleetSourceStatus => ({ ...status })))],
      logger: log,
    });
  } catch (err) {
    stop.abort();
    await reading;
    throw err;
  }
  return {
    port: server.port,
    store,
    close: async () => {
      stop.abort();
      await Promise.all([server.close(), reading]);
    },
  };
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export function main(argv: readonly string[] = process.argv.slice(2)): void {
  if (asksForVersion(argv)) {
    process.stdout.write(`${versionLine(NAME)}\n`);
    return;
  }
  let options: InspectorOptions | 'help';
  try {
    options = parseInspectorArgs(argv);
  } catch (err) {
    process.stderr.write(`${NAME}: ${redactCredentials(errorText(err))} (see --help)\n`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const log = createLogger({ verbosity: options.verbosity, component: 'inspector' });
  startFleetInspector(options, log).then(
    (running) => {
      log.info('fleet inspector serving', { url: `http://${options.host}:${running.port}/inspector/` });
      const shutdown = (): void => {
        void running.close().then(() => process.exit(0));
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    },
    (err: unknown) => {
      process.stderr.write(`${NAME}: ${redactCredentials(errorText(err))}\n`);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) main();
