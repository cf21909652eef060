/**
 * The binaries as drop-in replacements: they take the reference's flags as existing manifests and test
 * harnesses pass them, reject what they do not know with status 2 and one line, and handle signals as the
 * reference agent does.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { httpGet } from '../helpers/http';
import { freePorts } from '../helpers/ports';
import { startProcess, stopAllProcesses } from '../helpers/processes';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { AGENT_BIN, OPEN_SERVER_CONNECTIONS, READY_BACKENDS, SERVER_BIN, startServer } from './cluster';
import { scrapeMetrics } from '../helpers/metrics';

jest.setTimeout(60_000);

const tls = useTlsDir();
let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-flags-'));
});
afterAll(async () => {
  await stopAllProcesses();
  rmSync(work, { recursive: true, force: true });
});

describe.each([
  ['konnectivity-server', SERVER_BIN],
  ['konnectivity-agent', AGENT_BIN],
])('%s', (name, bin) => {
  it('exits 2 with a one-line reason for an unknown flag', () => {
    const r = spawnSync(bin, ['--no-such-flag=1'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`${name}: unknown flag: --no-such-flag`);
  });

  it('exits 2 for an invalid duration', () => {
    const r = spawnSync(bin, ['--keepalive-time=soon'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/keepalive-time/);
  });

  it('--help lists the flags and marks compatibility-only ones', () => {
    const r = spawnSync(bin, ['--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--xfr-channel-size/);
    expect(r.stdout).toMatch(/compatibility/i);
  });
});

it('the server documents its dial admission flags in --help and exits 2 on a bound below its minimum', () => {
  const help = spawnSync(SERVER_BIN, ['--help'], { encoding: 'utf8' });
  expect(help.stdout).toMatch(/--max-dials-in-flight int +.*\(default 4096\)/);
  expect(help.stdout).toMatch(/--max-dials-waiting int +.*\(default 65536\)/);
  const r = spawnSync(SERVER_BIN, ['--max-dials-in-flight=0'], { encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stderr.trim()).toBe(
    'konnectivity-server: invalid argument "0" for "--max-dials-in-flight" flag: must be at least 1',
  );
});

it('the agent runs with every reference agent flag given a value, as the reference test harness passes them', async () => {
  const server = await startServer(tls(), work, { mode: 'grpc' });
  const [health, admin] = await freePorts(2);
  const token = path.join(work, 'token');
  writeFileSync(token, 'not-checked-without-agent-namespace\n');
  const kubeconfig = path.join(work, 'kubeconfig');
  writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\n');
  const agent = startProcess(
    AGENT_BIN,
    [
      '--admin-bind-address=127.0.0.1',
      `--admin-server-port=${admin}`,
      `--agent-cert=${tls().agentCert}`,
      `--agent-key=${tls().agentKey}`,
      '--agent-id=harness-agent',
      '--agent-identifiers=host=localhost&ipv4=127.0.0.1',
      '--alpn-proto=h2',
      `--ca-cert=${tls().caCert}`,
      '--count-server-leases=false',
      '--enable-contention-profiling=false',
      '--enable-profiling=false',
      '--health-server-host=127.0.0.1',
      `--health-server-port=${health}`,
      '--keepalive-time=1h0m0s',
      '--kube-api-content-type=application/vnd.kubernetes.protobuf',
      `--kubeconfig=${kubeconfig}`,
      '--lease-label=k8s-app=konnectivity-server',
      '--lease-namespace=kube-system',
      '--probe-interval=1s',
      '--proxy-server-host=localhost',
      `--proxy-server-port=${server.ports.agent}`,
      '--server-count-source=default',
      `--service-account-token-path=${token}`,
      '--sync-forever=false',
      '--sync-interval=1s',
      '--sync-interval-cap=10s',
      '--warn-on-channel-limit=false',
      '--xfr-channel-size=150',
      '--v=2',
      '--logtostderr=true',
      `--data-dir=${path.join(work, 'harness-agent')}`,
    ],
    { name: 'agent:harness' },
  );
  await agent.waitForHttp(`http://127.0.0.1:${health}/healthz`);
  await waitFor(
    async () =>
      (await scrapeMetrics(`http://127.0.0.1:${health}/metrics`)).value(OPEN_SERVER_CONNECTIONS) === 1,
    {
      description: 'harness agent connected',
    },
  );
  await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
    description: 'server sees it',
  });

  // First SIGTERM: DRAIN and keep serving; second: exit.
  agent.signal('SIGTERM');
  await agent.waitForOutput(/draining/i);
  expect((await httpGet(`http://127.0.0.1:${health}/healthz`)).status).toBe(200);
  agent.signal('SIGTERM');
  const exit = await agent.exited;
  expect(exit.code).toBe(0);
});
