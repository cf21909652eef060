import { FlagError } from '../../src/config/flagError';
import { type ServerOptions, parseServerFlags } from '../../src/config/serverOptions';
import { serverFlagSpecs } from '../../src/config/serverFlags';
import { TempFiles } from './tempFiles';

const files = new TempFiles();
afterAll(() => files.dispose());

const clusterCert = files.file('cluster.crt');
const clusterKey = files.file('cluster.key');
const kubeconfig = files.file('kubeconfig');
const serverCa = files.file('server-ca.crt');
const serverCert = files.file('server.crt');
const serverKey = files.file('server.key');
const fixedIds = { deps: { randomUUID: () => 'generated-uuid' } };

function parse(argv: string[], env: NodeJS.ProcessEnv = {}): ServerOptions {
  const r = parseServerFlags(argv, env, fixedIds);
  if ('help' in r) throw new Error('unexpected help');
  return r;
}

function rejection(argv: string[]): FlagError {
  try {
    parseServerFlags(argv, {}, fixedIds);
  } catch (e) {
    if (e instanceof FlagError) return e;
    throw e;
  }
  throw new Error(`expected ${argv.join(' ')} to be rejected`);
}

const kamajiArgs = (): string[] => [
  '--uds-name=/run/konnectivity/konnectivity-server.socket',
  `--cluster-cert=${clusterCert}`,
  `--cluster-key=${clusterKey}`,
  '--mode=grpc',
  '--server-port=0',
  '--agent-port=8132',
  '--admin-port=8133',
  '--health-port=8134',
  '--agent-namespace=kube-system',
  '--agent-service-account=konnectivity-agent',
  `--kubeconfig=${kubeconfig}`,
  '--authentication-audience=system:konnectivity-server',
  '--server-count=3',
  '--v=4',
];

/** A minimal valid TCP set-up: the reference requires a frontend CA when not on a Unix socket. */
const tcpArgs = (): string[] => [`--server-ca-cert=${serverCa}`];

describe('parseServerFlags: the Kamaji manifest', () => {
  test('parses into the options Kamaji means', () => {
    const o = parse(kamajiArgs());
    expect(o).toMatchObject({
      udsName: '/run/konnectivity/konnectivity-server.socket',
      clusterCert,
      clusterKey,
      mode: 'grpc',
      serverPort: 0,
      agentPort: 8132,
      adminPort: 8133,
      healthPort: 8134,
      agentNamespace: 'kube-system',
      agentServiceAccount: 'konnectivity-agent',
      kubeconfig,
      authenticationAudience: 'system:konnectivity-server',
      serverCount: 3,
      verbosity: 4,
      agentTokenAuth: true,
      needsKubernetesClient: true,
      proxyStrategies: ['default'],
      keepaliveTimeMs: 3_600_000,
      frontendKeepaliveTimeMs: 3_600_000,
      deleteExistingUdsFile: true,
      adminBindAddress: '127.0.0.1',
      tlsMinVersion: 'TLSv1.2',
      backendDialTimeoutMs: 0,
      eventLog: '',
      eventLogLocation: { kind: 'file', dir: '/var/lib/konnectivity/events' },
      dataDir: '/var/lib/konnectivity',
      warnings: [],
    });
  });

  test('server id comes from PROXY_SERVER_ID, else a fresh UUID', () => {
    expect(parse(kamajiArgs(), { PROXY_SERVER_ID: 'pod-a' }).serverId).toBe('pod-a');
    expect(parse(kamajiArgs()).serverId).toBe('generated-uuid');
    expect(parse([...kamajiArgs(), '--server-id=flag'], { PROXY_SERVER_ID: 'env' }).serverId).toBe('flag');
  });

  test('the same manifest with underscores and single dashes parses the same way', () => {
    const alt = kamajiArgs().map((a) =>
      a.replace(/^--([a-z-]+)/, (_m, n: string) => `-${n.replace(/-/g, '_')}`),
    );
    expect(parse(alt)).toEqual(parse(kamajiArgs()));
  });
});

describe('parseServerFlags: values', () => {
  test('proxy strategies, cipher suites, TLS version, durations and our flags are typed', () => {
    const o = parse([
      ...tcpArgs(),
      '--proxy-strategies=destHost,defaultRoute,default',
      '--cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_AES_128_GCM_SHA256',
      '--tls-min-version=VersionTLS13',
      '--backend-dial-timeout=5s',
      '--graceful-shutdown-timeout=1m30s',
      '--event-log=nats://n1:4222,nats://n2:4222',
      '--data-dir=/tmp/k',
    ]);
    expect(o.proxyStrategies).toEqual(['destHost', 'defaultRoute', 'default']);
    expect(o.opensslCipherSuites).toEqual(['ECDHE-RSA-AES128-GCM-SHA256', 'TLS_AES_128_GCM_SHA256']);
    expect(o.tlsMinVersion).toBe('TLSv1.3');
    expect(o.backendDialTimeoutMs).toBe(5000);
    expect(o.gracefulShutdownTimeoutMs).toBe(90_000);
    expect(o.eventLog).toBe('nats://n1:4222,nats://n2:4222');
    expect(o.eventLogLocation).toEqual({ kind: 'nats', servers: ['nats://n1:4222', 'nats://n2:4222'] });
    expect(o.dataDir).toBe('/tmp/k');
  });

  test('dial admission: 4,096 in flight and 65,536 waiting by default, set by our two flags', () => {
    const defaults = parse(tcpArgs());
    expect(defaults.maxDialsInFlight).toBe(4096);
    expect(defaults.maxDialsWaiting).toBe(65_536);
    const set = parse([...tcpArgs(), '--max-dials-in-flight=2', '--max-dials-waiting', '0']);
    expect(set.maxDialsInFlight).toBe(2);
    expect(set.maxDialsWaiting).toBe(0);
  });

  test.each([
    ['--max-dials-in-flight=0', 'invalid argument "0" for "--max-dials-in-flight" flag: must be at least 1'],
    ['--max-dials-waiting=-1', 'invalid argument "-1" for "--max-dials-waiting" flag: must be at least 0'],
  ])('%s is refused', (arg, message) => {
    const e = rejection([...tcpArgs(), arg]);
    expect(e.reason).toBe('invalid-argument');
    expect(e.message).toBe(message);
  });

  test('--event-log=file:<dir> selects a file log in that directory', () => {
    expect(parse([...tcpArgs(), '--event-log=file:/srv/events']).eventLogLocation).toEqual({
      kind: 'file',
      dir: '/srv/events',
    });
  });

  test('--event-log=off is accepted and selects no log location', () => {
    const o = parse([...tcpArgs(), '--event-log=off']);
    expect(o.eventLog).toBe('off');
    expect(o.eventLogLocation).toBeNull();
  });

  test("TLS below 1.2 is accepted with the reference's warning", () => {
    expect(parse([...tcpArgs(), '--tls-min-version=VersionTLS10']).warnings).toContain(
      '--tls-min-version=VersionTLS10 is below TLS 1.2 and is considered insecure (RFC 8996)',
    );
  });

  test('the deprecated --warn-on-channel-limit is accepted with a deprecation notice', () => {
    expect(parse([...tcpArgs(), '--warn-on-channel-limit']).warnings[0]).toMatch(
      /^Flag --warn-on-channel-limit has been deprecated/,
    );
  });
});

describe('parseServerFlags: the reference Validate() rules', () => {
  const missing = files.missing('nope.crt');
  test.each([
    [['--mode=tcp'], `mode must be set to either 'grpc' or 'http-connect' not "tcp"`],
    [['--uds-name=/s.sock', '--server-port=8090'], 'server port should be set to 0 not 8090 for UDS'],
    [
      ['--uds-name=/s.sock', '--server-port=0', `--server-ca-cert=${serverCa}`],
      'server ca cert should not be set for UDS',
    ],
    [
      ['--uds-name=/s.sock', '--server-port=0', `--server-cert=${serverCert}`, `--server-key=${serverKey}`],
      'server key should not be set for UDS',
    ],
    [[], 'server ca cert must be set when in TCP mode (uds-name is empty)'],
    [
      [`--server-key=${serverKey}`, ...tcpArgs()],
      `cannot have server cert empty when server key is set to "${serverKey}"`,
    ],
    [
      [`--cluster-cert=${clusterCert}`, ...tcpArgs()],
      `cannot have cluster key empty when cluster cert is set to "${clusterCert}"`,
    ],
    [
      [`--cluster-cert=${missing}`],
      `error checking cluster cert ${missing}, got stat ${missing}: no such file or directory`,
    ],
    [
      [`--server-ca-cert=${missing}`],
      `error checking server CA cert ${missing}, got stat ${missing}: no such file or directory`,
    ],
    [
      [`--cluster-ca-cert=${missing}`],
      `error checking cluster CA cert ${missing}, got stat ${missing}: no such file or directory`,
    ],
    [
      [...tcpArgs(), '--agent-port=50000'],
      'please do not try to use ephemeral port 50000 for the agent port',
    ],
    [[...tcpArgs(), '--health-port=80'], 'please do not try to use reserved port 80 for the health port'],
    [[...tcpArgs(), '--server-port=443'], 'please do not try to use reserved port 443 for the server port'],
    [[...tcpArgs(), '--admin-port=0'], 'please do not try to use reserved port 0 for the admin port'],
    [
      [...tcpArgs(), '--enable-contention-profiling'],
      'if --enable-contention-profiling is set, --enable-profiling must also be set',
    ],
    [
      [...tcpArgs(), `--cluster-ca-cert=${serverCa}`, '--agent-namespace=kube-system'],
      '--cluster-ca-cert can not be used when agent authentication is enabled',
    ],
    [
      [...tcpArgs(), '--agent-namespace=kube-system'],
      '--agent-service-account cannot be empty when agent authentication is enabled',
    ],
    [
      [...tcpArgs(), '--authentication-audience=a', '--agent-service-account=sa'],
      '--agent-namespace cannot be empty when agent authentication is enabled',
    ],
    [
      [...tcpArgs(), '--agent-namespace=ns', '--agent-service-account=sa'],
      '--authentication-audience cannot be empty when agent authentication is enabled',
    ],
    [
      [...tcpArgs(), `--kubeconfig=${missing}`],
      `checking KubeconfigPath "${missing}", got stat ${missing}: no such file or directory`,
    ],
    [[...tcpArgs(), '--proxy-strategies='], 'ProxyStrategies cannot be empty'],
    [[...tcpArgs(), '--proxy-strategies=,'], 'invalid proxy strategies: proxy strategies cannot be empty'],
    [
      [...tcpArgs(), '--proxy-strategies=destHost,destCIDR'],
      'invalid proxy strategies: unknown proxy strategy: destCIDR',
    ],
    [[...tcpArgs(), '--xfr-channel-size=0'], 'channel size 0 must be greater than 0'],
    [
      [...tcpArgs(), '--frontend-write-channel-size=-1'],
      'frontend write channel size -1 must be greater than 0',
    ],
    [
      [...tcpArgs(), '--cipher-suites=TLS_RSA_WITH_RC4_128_SHA'],
      "cipher suite TLS_RSA_WITH_RC4_128_SHA not supported, doesn't exist or considered as insecure",
    ],
    [[...tcpArgs(), '--enable-lease-controller', '--lease-label=bad'], 'invalid label format: bad'],
    [[...tcpArgs(), '--graceful-shutdown-timeout=-1s'], 'graceful-shutdown-timeout must be >= 0, got -1s'],
    [[...tcpArgs(), '--backend-dial-timeout=-100ms'], 'backend-dial-timeout must be >= 0, got -100ms'],
  ])('%j is rejected with: %s', (argv, message) => {
    const e = rejection(argv);
    expect(e.reason).toBe('invalid-options');
    expect(e.message).toBe(message);
  });

  test('an unknown --tls-min-version is rejected and names the accepted values', () => {
    const e = rejection([...tcpArgs(), '--tls-min-version=TLS13']);
    expect(e.message).toContain('VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13');
  });

  test('the NATS TLS and credentials flags land in the options', () => {
    const o = parse([
      ...tcpArgs(),
      '--event-log=tls://nats:4222',
      `--event-log-tls-ca=${serverCa}`,
      `--event-log-tls-cert=${serverCert}`,
      `--event-log-tls-key=${serverKey}`,
      `--event-log-creds=${kubeconfig}`,
    ]);
    expect(o.eventLogSecurity).toEqual({
      tlsCa: serverCa,
      tlsCert: serverCert,
      tlsKey: serverKey,
      creds: kubeconfig,
    });
    expect(parse(tcpArgs()).eventLogSecurity).toEqual({});
  });

  test.each([
    [['--event-log=file:/srv/e', `--event-log-tls-ca=${serverCa}`], 'is only for a NATS event log'],
    [[`--event-log-creds=${kubeconfig}`], '--event-log-creds is only for a NATS event log'],
    [['--event-log=nats://n:4222', `--event-log-tls-cert=${serverCert}`], 'needs --event-log-tls-key'],
    [['--event-log=nats://n:4222', `--event-log-tls-key=${serverKey}`], 'needs --event-log-tls-cert'],
    [['--event-log=nats://u:p@n:4222', `--event-log-creds=${kubeconfig}`], 'give one of them'],
  ])('NATS security flags %j are rejected: %s', (args, message) => {
    const e = rejection([...tcpArgs(), ...args]);
    expect(e.reason).toBe('invalid-options');
    expect(e.message).toContain(message);
  });

  test('a NATS security file that does not exist is named with its flag', () => {
    const missing = files.missing('nats-ca.crt');
    const e = rejection([...tcpArgs(), '--event-log=nats://n:4222', `--event-log-tls-ca=${missing}`]);
    expect(e.message).toBe(
      `error checking --event-log-tls-ca ${missing}, got stat ${missing}: no such file or directory`,
    );
  });

  test('a malformed --event-log is rejected at parse time', () => {
    const e = rejection([...tcpArgs(), '--event-log=redis://x']);
    expect(e.reason).toBe('invalid-argument');
    expect(e.message).toMatch(/^invalid argument "redis:\/\/x" for "--event-log" flag: /);
  });

  test('an unknown flag is rejected like pflag does', () => {
    expect(rejection(['--agent-prot=8132']).message).toBe('unknown flag: --agent-prot');
  });
});

describe('parseServerFlags: help', () => {
  test('--help returns the help text, which mentions every flag', () => {
    const r = parseServerFlags(['--help'], {});
    if (!('help' in r)) throw new Error('expected help');
    for (const spec of serverFlagSpecs) expect(r.help).toContain(`--${spec.name}`);
    expect(r.help).toContain('konnectivity-server [flags]');
    expect(r.help).toContain('Accepted for compatibility only');
  });
});

describe('--event-log-max-bytes', () => {
  test('defaults to 256 MiB and takes a byte count', () => {
    expect(parse(kamajiArgs()).eventLogMaxBytes).toBe(256 * 1024 * 1024);
    expect(parse([...kamajiArgs(), '--event-log-max-bytes=1073741824']).eventLogMaxBytes).toBe(1024 ** 3);
  });
  test('refuses a bound too small to hold a log', () => {
    expect(rejection([...kamajiArgs(), '--event-log-max-bytes=4096']).message).toMatch(/at least 1048576/);
  });
});
