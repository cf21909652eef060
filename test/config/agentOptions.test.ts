import { agentFlagSpecs } from '../../src/config/agentFlags';
import { type AgentOptions, parseAgentFlags } from '../../src/config/agentOptions';
import { FlagError } from '../../src/config/flagError';
import { TempFiles } from './tempFiles';
import { runtimeConfig } from '../../src/main-agent';

const files = new TempFiles();
afterAll(() => files.dispose());

const ca = files.file('ca.crt');
const cert = files.file('agent.crt');
const key = files.file('agent.key');
const token = files.file('token');
const fixedIds = { deps: { randomUUID: () => 'generated-uuid' } };

function parse(argv: string[], env: NodeJS.ProcessEnv = {}): AgentOptions {
  const r = parseAgentFlags(argv, env, fixedIds);
  if ('help' in r) throw new Error('unexpected help');
  return r;
}

function rejection(argv: string[]): FlagError {
  try {
    parseAgentFlags(argv, {}, fixedIds);
  } catch (e) {
    if (e instanceof FlagError) return e;
    throw e;
  }
  throw new Error(`expected ${argv.join(' ')} to be rejected`);
}

describe('parseAgentFlags: the Kamaji manifest', () => {
  // The token path is a projected volume that exists in the pod; here it is a temp file.
  const kamaji = (): string[] => [
    `--ca-cert=${ca}`,
    '--proxy-server-host=konnectivity.tenant.example',
    '--proxy-server-port=8132',
    '--admin-server-port=8133',
    '--health-server-port=8134',
    `--service-account-token-path=${token}`,
    '--agent-identifiers=host=n1&ipv4=10.0.0.5',
  ];

  test('parses into the options Kamaji means', () => {
    const o = parse(kamaji());
    expect(o).toMatchObject({
      caCert: ca,
      proxyServerHost: 'konnectivity.tenant.example',
      proxyServerPort: 8132,
      adminServerPort: 8133,
      healthServerPort: 8134,
      serviceAccountTokenPath: token,
      agentIdentifiers: 'host=n1&ipv4=10.0.0.5',
      identifiers: { host: ['n1'], ipv4: ['10.0.0.5'], ipv6: [], cidr: [], defaultRoute: false },
      agentId: 'generated-uuid',
      syncIntervalMs: 1000,
      probeIntervalMs: 1000,
      syncIntervalCapMs: 10_000,
      keepaliveTimeMs: 3_600_000,
      adminBindAddress: '127.0.0.1',
      allowedDestinations: [],
      allowedDestinationRules: [],
      proxyServerAddresses: [],
      eventLog: '',
      eventLogLocation: { kind: 'file', dir: '/var/lib/konnectivity-agent/events' },
      warnings: [],
    });
  });

  test('agent id comes from PROXY_AGENT_ID when the flag is absent', () => {
    expect(parse(kamaji(), { PROXY_AGENT_ID: 'node-7' }).agentId).toBe('node-7');
    expect(parse([...kamaji(), '--agent-id=$(NODE_NAME)'], { PROXY_AGENT_ID: 'x' }).agentId).toBe(
      '$(NODE_NAME)',
    );
  });
});

/** One value per agent flag, as a harness that drives an external agent binary passes them. */
const harnessValues = (): Record<string, string> => ({
  'admin-bind-address': '127.0.0.1',
  'admin-server-port': '18094',
  'agent-cert': cert,
  'agent-key': key,
  'agent-id': 'harness-agent',
  'agent-identifiers': 'host=localhost&ipv4=127.0.0.1&default-route=true',
  'alpn-proto': '[]',
  'ca-cert': ca,
  'count-server-leases': 'false',
  'enable-contention-profiling': 'false',
  'enable-profiling': 'false',
  'health-server-host': '127.0.0.1',
  'health-server-port': '18093',
  'keepalive-time': '1h0m0s',
  'kube-api-content-type': 'application/vnd.kubernetes.protobuf',
  kubeconfig: '',
  'lease-label': 'k8s-app=konnectivity-server',
  'lease-label-selector': 'k8s-app=konnectivity-server',
  'lease-namespace': 'kube-system',
  'probe-interval': '1s',
  'proxy-server-host': '127.0.0.1',
  'proxy-server-port': '18091',
  'server-count': '1',
  'server-count-source': 'default',
  'service-account-token-path': token,
  'sync-forever': 'true',
  'sync-interval': '100ms',
  'sync-interval-cap': '1s',
  'warn-on-channel-limit': 'false',
  'xfr-channel-size': '150',
  'allowed-destinations': '127.0.0.0/8,[::1/128]:1-65535',
  'proxy-server-addresses': '127.0.0.2:18091',
  'event-log': 'file:/tmp/harness-events',
  // Empty: the NATS security flags are only for a NATS event log (test/config/serverOptions.test.ts).
  'event-log-tls-ca': '',
  'event-log-tls-cert': '',
  'event-log-tls-key': '',
  'event-log-creds': '',
  'event-log-max-bytes': '33554432',
  'flow-control': 'false',
  'link-transport': 'h2',
  inspector: 'false',
  'data-dir': '/tmp/harness',
  v: '5',
  vmodule: '',
  logtostderr: 'true',
  alsologtostderr: 'false',
  'log-dir': '',
  'log-file': '',
  'log-file-max-size': '1800',
  stderrthreshold: '2',
  'one-output': 'false',
  'add-dir-header': 'false',
  'skip-headers': 'false',
  'skip-log-headers': 'false',
  'log-backtrace-at': ':0',
  'legacy-stderr-threshold-behavior': 'true',
});

describe('parseAgentFlags: a harness passing every agent flag with a value', () => {
  test('the harness table covers every flag the agent defines', () => {
    expect(Object.keys(harnessValues()).sort()).toEqual(agentFlagSpecs.map((s) => s.name).sort());
  });

  const isBool = (name: string): boolean => agentFlagSpecs.some((s) => s.name === name && s.kind === 'bool');

  test.each([
    ['--name=value', (n: string, v: string) => [`--${n}=${v}`]],
    // pflag only accepts --name=value for bools: a bare bool never takes the next argument.
    ['--name value', (n: string, v: string) => (isBool(n) ? [`--${n}=${v}`] : [`--${n}`, v])],
    ['-name=value (Go flag style)', (n: string, v: string) => [`-${n}=${v}`]],
  ])('all flags in %s form parse and land in the options', (_form, render) => {
    const argv = Object.entries(harnessValues()).flatMap(([n, v]) => render(n, v));
    const o = parse(argv);
    expect(o).toMatchObject({
      agentId: 'harness-agent',
      inspector: false,
      agentCert: cert,
      agentKey: key,
      caCert: ca,
      healthServerHost: '127.0.0.1',
      healthServerPort: 18093,
      adminServerPort: 18094,
      proxyServerPort: 18091,
      syncIntervalMs: 100,
      syncIntervalCapMs: 1000,
      syncForever: true,
      alpnProtos: [],
      linkTransport: 'h2',
      identifiers: { host: ['localhost'], ipv4: ['127.0.0.1'], defaultRoute: true },
      proxyServerAddresses: ['127.0.0.2:18091'],
      allowedDestinations: ['127.0.0.0/8', '[::1/128]:1-65535'],
      allowedDestinationRules: [
        { address: '127.0.0.0', family: 4, prefixLength: 8 },
        { address: '::1', family: 6, prefixLength: 128, ports: { from: 1, to: 65535 } },
      ],
      verbosity: 5,
      eventLog: 'file:/tmp/harness-events',
      eventLogLocation: { kind: 'file', dir: '/tmp/harness-events' },
      eventLogMaxBytes: 32 * 1024 * 1024,
      dataDir: '/tmp/harness',
    });
    // Only the flag that asks for something we do not do is reported.
    expect(o.warnings).toEqual([
      'Flag --server-count is accepted for compatibility only and has no effect: ' +
        'the agent learns the server count from the servercount header',
    ]);
    expect(new Set(o.setFlags)).toEqual(new Set(Object.keys(harnessValues())));
  });
});

describe('parseAgentFlags: the reference Validate() rules', () => {
  const missing = files.missing('missing.crt');
  test.each([
    [[`--agent-key=${key}`], `cannot have agent cert empty when agent key is set to "${key}"`],
    [[`--agent-cert=${cert}`], `cannot have agent key empty when agent cert is set to "${cert}"`],
    [
      [`--agent-cert=${missing}`, `--agent-key=${key}`],
      `error checking agent cert ${missing}, got stat ${missing}: no such file or directory`,
    ],
    [
      [`--ca-cert=${missing}`],
      `error checking agent CA cert ${missing}, got stat ${missing}: no such file or directory`,
    ],
    [['--proxy-server-port=0'], 'proxy server port 0 must be greater than 0'],
    [['--health-server-port=0'], 'health server port 0 must be greater than 0'],
    [['--admin-server-port=0'], 'admin server port 0 must be greater than 0'],
    [
      ['--enable-contention-profiling'],
      'if --enable-contention-profiling is set, --enable-profiling must also be set',
    ],
    [['--sync-interval=20s'], 'sync interval 20s must be less than sync interval cap 10s'],
    [
      [`--service-account-token-path=${missing}`],
      `error checking service account token path ${missing}, got stat ${missing}: no such file or directory`,
    ],
    [['--agent-identifiers=zone=a'], 'agent address is invalid: unknown address type: zone'],
    [['--agent-identifiers=host=%zz'], 'agent address is invalid: invalid URL escape "%zz"'],
    [['--agent-identifiers=host=a;ipv4=b'], 'agent address is invalid: invalid semicolon separator in query'],
    [['--xfr-channel-size=0'], 'channel size 0 must be greater than 0'],
    [
      ['--server-count-source=foobar'],
      "--server-count-source must be one of '', 'default', 'max', got foobar",
    ],
  ])('%j is rejected with: %s', (argv, message) => {
    const e = rejection(argv);
    expect(e.reason).toBe('invalid-options');
    expect(e.message).toBe(message);
  });

  test('an invalid lease label selector is rejected at parse time, as the reference does', () => {
    const e = rejection(['--lease-label=*notavalidlabel*']);
    expect(e.reason).toBe('invalid-argument');
    expect(e.message).toMatch(/^invalid argument "\*notavalidlabel\*" for "--lease-label" flag/);
  });

  test('a malformed --allowed-destinations entry is rejected at parse time', () => {
    const e = rejection(['--allowed-destinations=10.0.0.0/33']);
    expect(e.reason).toBe('invalid-argument');
    expect(e.message).toMatch(/^invalid argument "10\.0\.0\.0\/33" for "--allowed-destinations" flag: /);
  });

  test('a malformed --proxy-server-addresses entry is rejected at parse time', () => {
    expect(rejection(['--proxy-server-addresses=server-without-port']).reason).toBe('invalid-argument');
  });

  test('compatibility-only flags set to non-default values are accepted with a warning', () => {
    const o = parse(['--count-server-leases', '--enable-profiling']);
    expect(o.countServerLeases).toBe(true);
    expect(o.warnings).toHaveLength(2);
  });
});

describe('parseAgentFlags: help', () => {
  test('--help returns the help text, which mentions every flag with its default', () => {
    const r = parseAgentFlags(['-h'], {});
    if (!('help' in r)) throw new Error('expected help');
    for (const spec of agentFlagSpecs) expect(r.help).toContain(`--${spec.name}`);
    expect(r.help).toContain('konnectivity-agent [flags]');
    expect(r.help).toMatch(
      /--keepalive-time duration +Time for gRPC agent server keepalive\. \(default 1h0m0s\)/,
    );
    expect(r.help).toMatch(/--proxy-server-host string +.*\(default "127\.0\.0\.1"\)/);
    expect(r.help).toMatch(/-v, --v Level +number for the log level verbosity/);
    expect(r.help).toContain('[env PROXY_AGENT_ID]');
  });

  test('compatibility-only flags are listed in their own section with the reason', () => {
    const r = parseAgentFlags(['--help'], {});
    if (!('help' in r)) throw new Error('expected help');
    const [active = '', compat = ''] = r.help.split('Accepted for compatibility only');
    expect(active).toContain('--sync-forever');
    expect(active).not.toContain('--count-server-leases');
    expect(compat).toContain('--count-server-leases');
    expect(compat).toContain('[not acted on: the agent does not count server leases');
  });
});

describe('runtime configuration', () => {
  test('--link-transport: h2 by default, grpc-js on request, anything else refused', () => {
    expect(runtimeConfig(parse([])).linkTransport).toBe('h2');
    expect(runtimeConfig(parse(['--link-transport=grpc-js'])).linkTransport).toBe('grpc-js');
    expect(rejection(['--link-transport=http3']).reason).toBe('invalid-argument');
  });

  test('--alpn-proto reaches the link (offered before h2)', () => {
    expect(runtimeConfig(parse(['--alpn-proto=konnectivity,other'])).alpnProtocols).toEqual([
      'konnectivity',
      'other',
    ]);
    expect(runtimeConfig(parse([])).alpnProtocols).toEqual([]);
  });
});
