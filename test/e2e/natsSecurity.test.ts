/**
 * The real binaries against a nats-server that demands mutual TLS and a user/password: the server and
 * the agent record their events there, `konnectivity-events` reads them back with the same flags, and
 * the password appears in no log line, no metric and no CLI output.
 */
import { execFile } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { validateEvent } from '../../src/events';
import { httpGet } from '../helpers/http';
import { startNatsServer, type NatsServerHandle } from '../helpers/natsServer';
import { freePorts } from '../helpers/ports';
import { startProcess, stopAllProcesses } from '../helpers/processes';
import { startEchoServer, type TargetServer } from '../helpers/targets';
import { sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { READY_BACKENDS, startAgent, startServer } from './cluster';

jest.setTimeout(120_000);

const EVENTS_BIN = path.join(__dirname, '..', '..', 'bin', 'konnectivity-events');
const INSPECTOR_BIN = path.join(__dirname, '..', '..', 'bin', 'konnectivity-inspector');
const PASSWORD = 'pw-e2e-5a4b3c2d1e';
const tls = useTlsDir();
let work: string;
let echo: TargetServer;
let nats: NatsServerHandle;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-natssec-'));
  echo = await startEchoServer();
  nats = await startNatsServer({
    config: [
      `tls { cert_file: "${tls().clusterCert}", key_file: "${tls().clusterKey}", ca_file: "${tls().caCert}", verify: true }`,
      `authorization { users: [ { user: "konnectivity", password: "${PASSWORD}" } ] }`,
    ].join('\n'),
  });
});
afterAll(async () => {
  await stopAllProcesses();
  await nats?.dispose();
  await echo?.close();
  rmSync(work, { recursive: true, force: true });
});

function runEvents(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(EVENTS_BIN, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

it('server, agent, konnectivity-events and konnectivity-inspector use NATS over mTLS with a password they never print', async () => {
  const eventLog = `tls://konnectivity:${PASSWORD}@127.0.0.1:${nats.port}`;
  const security = [
    `--event-log-tls-ca=${tls().caCert}`,
    `--event-log-tls-cert=${tls().agentCert}`,
    `--event-log-tls-key=${tls().agentKey}`,
  ];
  const serverId = 'secure-server';
  const server = await startServer(tls(), work, {
    mode: 'grpc',
    serverId,
    extraArgs: [`--event-log=${eventLog}`, ...security, '--v=5'],
  });
  const agent = await startAgent(tls(), work, server, {
    agentId: 'secure-agent',
    extraArgs: [`--event-log=${eventLog}`, ...security, '--v=5'],
  });
  await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
    description: 'agent up',
  });
  const tunnel = await server.dial(`127.0.0.1:${echo.port}`);
  expect((await sendAndReceive(tunnel, Buffer.from('ping'))).toString()).toBe('ping');
  tunnel.end();

  let tail = { code: -1, stdout: '', stderr: '' };
  await waitFor(
    async () => {
      tail = await runEvents(['tail', '--json', `--event-log=${eventLog}`, ...security]);
      return (
        tail.code === 0 &&
        tail.stdout.includes('"type":"conn.closed"') &&
        tail.stdout.includes('"type":"conn.endpoint-closed"')
      );
    },
    { description: 'both processes to have published their connection events', timeoutMs: 30_000 },
  );
  const events = tail.stdout
    .trim()
    .split('\n')
    .map((line) => validateEvent(JSON.parse(line)));
  expect(events.every((r) => r.ok)).toBe(true);
  expect(tail.stdout).toContain(`"serverId":"${serverId}"`);

  const wrong = await runEvents([
    'tail',
    `--event-log=tls://konnectivity:not-${PASSWORD}@127.0.0.1:${nats.port}`,
    ...security,
  ]);
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toMatch(/konnectivity:\*\*\*@127\.0\.0\.1/);

  // The fleet inspector reads the same log with the same flags.
  const [inspectorPort = 0, wrongPort = 0] = await freePorts(2);
  const inspector = startProcess(
    INSPECTOR_BIN,
    [`--listen=127.0.0.1:${inspectorPort}`, `--event-log=${eventLog}`, ...security],
    { name: 'inspector' },
  );
  const api = (port: number, route: string) => `http://127.0.0.1:${port}/inspector/api/${route}`;
  await inspector.waitForHttp(api(inspectorPort, 'info'));
  const fleet = await waitFor(
    async () => {
      const body = (await httpGet(api(inspectorPort, 'fleet'))).body;
      const view = JSON.parse(body) as { servers: { id: string; agents: string[] }[] };
      return view.servers.some((s) => s.id === serverId && s.agents.includes('secure-agent')) ? body : false;
    },
    { description: 'the fleet inspector folding the secured log', timeoutMs: 30_000 },
  );
  // With the wrong password it shows why, naming the account but not the password.
  const wrongInspector = startProcess(
    INSPECTOR_BIN,
    [
      `--listen=127.0.0.1:${wrongPort}`,
      `--event-log=tls://konnectivity:not-${PASSWORD}@127.0.0.1:${nats.port}`,
      ...security,
    ],
    { name: 'inspector-wrong-password' },
  );
  await wrongInspector.waitForHttp(api(wrongPort, 'info'));
  const wrongInfo = await waitFor(
    async () => {
      const body = (await httpGet(api(wrongPort, 'info'))).body;
      return (JSON.parse(body) as { source: { error: string | null } }).source.error !== null ? body : false;
    },
    { description: 'the read error on the wrong-password inspector', timeoutMs: 30_000 },
  );
  expect(wrongInfo).toMatch(/konnectivity:\*\*\*@127\.0\.0\.1/);

  const printed = [
    server.process.output(),
    agent.process.output(),
    (await httpGet(server.healthUrl('/metrics'))).body,
    (await httpGet(agent.healthUrl('/metrics'))).body,
    tail.stdout,
    tail.stderr,
    wrong.stdout,
    wrong.stderr,
    fleet,
    (await httpGet(api(inspectorPort, 'info'))).body,
    inspector.output(),
    wrongInfo,
    wrongInspector.output(),
  ].join('\n');
  expect(printed).not.toContain(PASSWORD);
});

it('a TLS file that does not exist stops the server at start-up, naming the flag and the file', async () => {
  const missing = path.join(work, 'no-such-ca.crt');
  const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(
      path.join(__dirname, '..', '..', 'bin', 'konnectivity-server'),
      [
        '--uds-name=/tmp/x.sock',
        '--server-port=0',
        `--event-log=nats://127.0.0.1:1`,
        `--event-log-tls-ca=${missing}`,
      ],
      { timeout: 60_000 },
      (err, _stdout, stderr) => resolve({ code: typeof err?.code === 'number' ? err.code : 0, stderr }),
    );
  });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`--event-log-tls-ca ${missing}`);
});
