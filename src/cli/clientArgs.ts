/**
 * The command line of `konnectivity-client`, the counterpart of the reference's `proxy-test-client`: the
 * same flag names and defaults (`--mode`, `--proxy-uds` or `--proxy-host/--proxy-port` with `--ca-cert
 * --client-cert --client-key`, `--request-proto --request-host --request-port --request-path`) and the
 * same validation messages where they apply, plus what a person trying the tunnel needs: `--connect-only`
 * (a raw stream on stdin/stdout), `--verbose`, `--fail`, `--dial-timeout`.
 */
import { parseArgs as parseNodeArgs } from 'util';
import { DEFAULT_DIAL_TIMEOUT_MS } from '../client/timeouts';
import { InvalidValue, parsePort } from '../config/flagValues';
import { GoDurationError, parseGoDuration } from '../config/goDuration';
import { isFrontendMode, type FrontendMode } from '../protocol/frontendModes';

export class ClientUsageError extends Error {
  override readonly name = 'ClientUsageError';
  readonly reason = 'usage';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** How to reach the proxy's frontend. */
export type ProxyTarget =
  | { readonly kind: 'uds'; readonly path: string }
  | {
      readonly kind: 'tcp';
      readonly host: string;
      readonly port: number;
      /** Present when --ca-cert is given: TLS (mTLS with a client certificate). */
      readonly tls?: {
        readonly caCert: string;
        readonly clientCert: string;
        readonly clientKey: string;
        readonly serverName: string;
      };
    };

export interface ClientOptions {
  readonly command: 'run' | 'help';
  readonly mode: FrontendMode;
  readonly proxy: ProxyTarget;
  readonly requestProto: 'http' | 'https';
  readonly requestHost: string;
  readonly requestPort: number;
  readonly requestPath: string;
  readonly requestMethod: string;
  /** CA bundle for an https request; empty means Node's default roots. */
  readonly requestCaCert: string;
  readonly insecure: boolean;
  readonly userAgent: string;
  readonly connectOnly: boolean;
  readonly verbose: boolean;
  readonly fail: boolean;
  readonly dialTimeoutMs: number;
}

const STRING_FLAGS = [
  'mode',
  'proxy-uds',
  'proxy-host',
  'proxy-port',
  'proxy-server-name',
  'ca-cert',
  'client-cert',
  'client-key',
  'request-proto',
  'request-host',
  'request-port',
  'request-path',
  'request-method',
  'request-ca-cert',
  'user-agent',
  'dial-timeout',
] as const;
const BOOLEAN_FLAGS = ['connect-only', 'verbose', 'fail', 'insecure'] as const;

/** The reference client's defaults, so a command line written for `proxy-test-client` means the same. */
const DEFAULTS = {
  mode: 'grpc',
  'proxy-host': 'localhost',
  'proxy-port': '8090',
  'request-proto': 'http',
  'request-host': 'localhost',
  'request-port': '8000',
  'request-path': 'success',
  'request-method': 'GET',
  'user-agent': 'konnectivity-client',
} as const satisfies Partial<Record<(typeof STRING_FLAGS)[number], string>>;

/** A flag's value read by `parse`; the parser's own error becomes the usage error pflag would print. */
function parsed<T>(flag: string, raw: string, parse: (raw: string) => T): T {
  try {
    return parse(raw);
  } catch (err) {
    if (err instanceof InvalidValue || err instanceof GoDurationError) {
      throw new ClientUsageError(`invalid argument ${JSON.stringify(raw)} for --${flag}: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
}

const port = (flag: string, raw: string): number => parsed(flag, raw, parsePort);
const duration = (flag: string, raw: string): number => parsed(flag, raw, parseGoDuration);

function proxyTarget(
  v: Readonly<Record<string, string | undefined>>,
  given: ReadonlySet<string>,
): ProxyTarget {
  const caCert = v['ca-cert'] ?? '';
  const clientCert = v['client-cert'] ?? '';
  const clientKey = v['client-key'] ?? '';
  if ((clientCert === '') !== (clientKey === '')) {
    throw new ClientUsageError('--client-cert and --client-key go together');
  }
  const uds = v['proxy-uds'] ?? '';
  if (uds !== '') {
    if (given.has('proxy-host') || given.has('proxy-port')) {
      throw new ClientUsageError('--proxy-uds excludes --proxy-host and --proxy-port');
    }
    if (caCert || clientCert) {
      throw new ClientUsageError('please do not set cert materials when using UDS');
    }
    return { kind: 'uds', path: uds };
  }
  const host = v['proxy-host'] ?? DEFAULTS['proxy-host'];
  const proxyPort = port('proxy-port', v['proxy-port'] ?? DEFAULTS['proxy-port']);
  if (caCert === '') {
    if (clientCert) throw new ClientUsageError('--client-cert needs --ca-cert to verify the proxy');
    return { kind: 'tcp', host, port: proxyPort };
  }
  return {
    kind: 'tcp',
    host,
    port: proxyPort,
    tls: { caCert, clientCert, clientKey, serverName: v['proxy-server-name'] ?? '' },
  };
}

export function parseClientArgs(argv: readonly string[]): ClientOptions {
  let parsed: ReturnType<typeof parseNodeArgs>;
  try {
    parsed = parseNodeArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        ...Object.fromEntries(STRING_FLAGS.map((f) => [f, { type: 'string' as const }])),
        ...Object.fromEntries(BOOLEAN_FLAGS.map((f) => [f, { type: 'boolean' as const }])),
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new ClientUsageError(err instanceof Error ? err.message : String(err), { cause: err });
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const str: Record<string, string | undefined> = {};
  for (const f of STRING_FLAGS) if (typeof v[f] === 'string') str[f] = v[f];
  const given = new Set(Object.keys(str));
  const flag = (name: keyof typeof DEFAULTS): string => str[name] ?? DEFAULTS[name];

  const mode = flag('mode');
  if (!isFrontendMode(mode)) {
    throw new ClientUsageError(
      `mode must be set to either 'grpc' or 'http-connect' not ${JSON.stringify(mode)}`,
    );
  }
  const requestProto = flag('request-proto');
  if (requestProto !== 'http' && requestProto !== 'https') {
    throw new ClientUsageError(
      `request protocol must be set to either 'http' or 'https' not ${JSON.stringify(requestProto)}`,
    );
  }
  const connectOnly = v['connect-only'] === true;
  if (connectOnly && (given.has('request-path') || given.has('request-method'))) {
    throw new ClientUsageError('--connect-only sends no request: drop --request-path and --request-method');
  }
  const path = flag('request-path');
  return {
    command: v['help'] === true ? 'help' : 'run',
    mode,
    proxy: proxyTarget(str, given),
    requestProto,
    requestHost: flag('request-host'),
    requestPort: port('request-port', flag('request-port')),
    requestPath: path.startsWith('/') ? path : `/${path}`,
    requestMethod: flag('request-method').toUpperCase(),
    requestCaCert: str['request-ca-cert'] ?? '',
    insecure: v['insecure'] === true,
    userAgent: flag('user-agent'),
    connectOnly,
    verbose: v['verbose'] === true,
    fail: v['fail'] === true,
    dialTimeoutMs: str['dial-timeout']
      ? duration('dial-timeout', str['dial-timeout'])
      : DEFAULT_DIAL_TIMEOUT_MS,
  };
}

export const CLIENT_USAGE = `usage: konnectivity-client [flags]

Opens one tunnel through a Konnectivity server, as kube-apiserver does, and sends an HTTP request through
it (the response is printed like curl prints it), or with --connect-only copies stdin/stdout to and from
the far end. Flags and defaults follow the reference's proxy-test-client.

the proxy (its frontend):
  --mode=grpc|http-connect      how to speak to the proxy (default grpc)
  --proxy-uds=<path>            its Unix socket (no TLS), or:
  --proxy-host=<host>           (default localhost)
  --proxy-port=<port>           (default 8090)
  --ca-cert=<file>              verify the proxy with this CA (TLS); with
  --client-cert=<file> --client-key=<file>   the client certificate (mTLS)
  --proxy-server-name=<name>    name to verify the proxy's certificate against (default --proxy-host)
  --dial-timeout=<duration>     give up on the tunnel after this long (default 30s)

the request (sent through the tunnel):
  --request-proto=http|https    (default http)
  --request-host=<host>         the far end, resolved by the agent (default localhost)
  --request-port=<port>         (default 8000)
  --request-path=<path>         (default /success)
  --request-method=<method>     (default GET)
  --request-ca-cert=<file>      CA for an https far end; --insecure skips its verification
  --user-agent=<ua>             (default konnectivity-client)
  --verbose                     request and response heads on stderr (curl -v style)
  --fail                        exit 22 on an HTTP status >= 400 (curl --fail)
  --connect-only                no request: stdin goes to the far end, what it sends goes to stdout

  --version                     print the version and exit
exit status: 0 done, 1 the tunnel or the request failed, 2 bad command line, 22 --fail and status >= 400
`;
