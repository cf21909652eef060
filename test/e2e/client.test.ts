/**
 * bin/konnectivity-client against the real server and agent: a request printed like curl prints it, in
 * both frontend modes, each over a Unix socket and over mTLS TCP; an https far end; --fail; --connect-only as a
 * raw stream on stdin/stdout; a refused dial; and bad command lines. Needs the build.
 */
import { spawn } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import * as http from 'http';
import * as https from 'https';
import type { AddressInfo } from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import { stopAllProcesses } from '../helpers/processes';
import { refusedPort, startEchoServer, type TargetServer } from '../helpers/targets';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { READY_BACKENDS, startAgent, startServer, type RunningTestServer } from './cluster';

jest.setTimeout(90_000);

const CLIENT_BIN = path.join(__dirname, '..', '..', 'bin', 'konnectivity-client');
const tls = useTlsDir();
let work: string;
let grpcUds: RunningTestServer;
let connectMtls: RunningTestServer;
let grpcMtls: RunningTestServer;
let connectUds: RunningTestServer;
let echo: TargetServer;
let web: http.Server;
let secureWeb: https.Server;

const handler: http.RequestListener = (req, res) => {
  if (req.url === '/missing') {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no such page\n');
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Seen-User-Agent': req.headers['user-agent'] ?? '' });
  res.end(`hello from the node, you asked for ${req.url}\n`);
};

function listen(server: http.Server | https.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

interface ClientRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the client to completion (asynchronously: the targets live in this process). */
function runClient(args: readonly string[]): Promise<ClientRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(CLIENT_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const mtlsArgs = (server = connectMtls): string[] => [
  '--proxy-host=127.0.0.1',
  `--proxy-port=${server.ports.frontend}`,
  `--ca-cert=${tls().caCert}`,
  `--client-cert=${tls().frontendClientCert}`,
  `--client-key=${tls().frontendClientKey}`,
  '--proxy-server-name=localhost',
];

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-client-'));
  echo = await startEchoServer();
  web = http.createServer(handler);
  secureWeb = https.createServer({ cert: tls().pems.server.cert, key: tls().pems.server.key }, handler);
  await Promise.all([listen(web), listen(secureWeb)]);
  grpcUds = await startServer(tls(), work, { mode: 'grpc' });
  connectMtls = await startServer(tls(), work, { mode: 'http-connect', transport: 'mtls' });
  grpcMtls = await startServer(tls(), work, { mode: 'grpc', transport: 'mtls' });
  connectUds = await startServer(tls(), work, { mode: 'http-connect' });
  await startAgent(tls(), work, grpcUds, { agentId: 'node-grpc' });
  await startAgent(tls(), work, connectMtls, { agentId: 'node-connect' });
  await startAgent(tls(), work, grpcMtls, { agentId: 'node-grpc-mtls' });
  await startAgent(tls(), work, connectUds, { agentId: 'node-connect-uds' });
  for (const server of [grpcUds, connectMtls, grpcMtls, connectUds]) {
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: `an agent on ${server.mode}`,
      timeoutMs: 15_000,
    });
  }
});
afterAll(async () => {
  await stopAllProcesses();
  await echo?.close();
  web?.closeAllConnections();
  secureWeb?.closeAllConnections();
  await new Promise((r) => web?.close(r));
  await new Promise((r) => secureWeb?.close(r));
  rmSync(work, { recursive: true, force: true });
});

const webPort = (): number => (web.address() as AddressInfo).port;

it('gRPC over the Unix socket: the body on stdout, the heads on stderr with --verbose', async () => {
  const run = await runClient([
    '--mode=grpc',
    `--proxy-uds=${grpcUds.socketPath}`,
    '--request-host=127.0.0.1',
    `--request-port=${webPort()}`,
    '--request-path=/hello',
    '--verbose',
  ]);
  expect(run).toMatchObject({ code: 0, stdout: 'hello from the node, you asked for /hello\n' });
  expect(run.stderr).toContain(`* tunnel to 127.0.0.1:${webPort()} open through unix:${grpcUds.socketPath}`);
  expect(run.stderr).toContain('> GET /hello HTTP/1.1');
  expect(run.stderr).toContain('< HTTP/1.1 200 OK');
  expect(run.stderr).toContain('< X-Seen-User-Agent: konnectivity-client');
});

it('HTTP CONNECT over mTLS TCP', async () => {
  const run = await runClient([
    '--mode=http-connect',
    ...mtlsArgs(),
    '--request-host=127.0.0.1',
    `--request-port=${webPort()}`,
    '--request-path=/over-mtls',
  ]);
  expect(run).toEqual({ code: 0, stdout: 'hello from the node, you asked for /over-mtls\n', stderr: '' });
});

it('the other two pairings: gRPC over mTLS TCP, HTTP CONNECT over the Unix socket', async () => {
  const request = ['--request-host=127.0.0.1', `--request-port=${webPort()}`];
  expect(
    await runClient(['--mode=grpc', ...mtlsArgs(grpcMtls), ...request, '--request-path=/grpc-mtls']),
  ).toEqual({
    code: 0,
    stdout: 'hello from the node, you asked for /grpc-mtls\n',
    stderr: '',
  });
  expect(
    await runClient([
      '--mode=http-connect',
      `--proxy-uds=${connectUds.socketPath}`,
      ...request,
      '--request-path=/connect-uds',
    ]),
  ).toEqual({ code: 0, stdout: 'hello from the node, you asked for /connect-uds\n', stderr: '' });
});

it('an https far end, verified with --request-ca-cert (TLS inside the tunnel)', async () => {
  const run = await runClient([
    `--proxy-uds=${grpcUds.socketPath}`,
    '--request-proto=https',
    '--request-host=localhost',
    `--request-port=${(secureWeb.address() as AddressInfo).port}`,
    '--request-path=/secure',
    `--request-ca-cert=${tls().caCert}`,
  ]);
  expect(run).toMatchObject({ code: 0, stdout: 'hello from the node, you asked for /secure\n' });
});

it('--fail exits 22 on a 404, like curl; without it the 404 body is printed and the exit is 0', async () => {
  const args = [
    `--proxy-uds=${grpcUds.socketPath}`,
    '--request-host=127.0.0.1',
    `--request-port=${webPort()}`,
    '--request-path=/missing',
  ];
  expect(await runClient(args)).toMatchObject({ code: 0, stdout: 'no such page\n' });
  expect(await runClient([...args, '--fail'])).toMatchObject({ code: 22 });
});

it('--connect-only copies stdin to the far end and the far end to stdout until stopped', async () => {
  const child = spawn(
    CLIENT_BIN,
    [
      '--mode=http-connect',
      ...mtlsArgs(),
      '--connect-only',
      '--request-host=127.0.0.1',
      `--request-port=${echo.port}`,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  try {
    child.stdin.write('ping through the tunnel\n');
    await waitFor(() => stdout === 'ping through the tunnel\n', {
      description: 'the echo',
      timeoutMs: 15_000,
    });
    child.stdin.end(); // stdin's end alone does not close a tunnel (no half-close across it)...
    child.kill('SIGTERM'); // ...the user stopping it does
    expect(await closed).toBe(0);
    expect(stderr).toBe('');
    await waitFor(() => echo.open === 0, { description: 'the far end closed' });
  } finally {
    child.kill('SIGKILL');
  }
});

it('a refused dial exits 1 with the reason', async () => {
  const run = await runClient([
    `--proxy-uds=${grpcUds.socketPath}`,
    '--request-host=127.0.0.1',
    `--request-port=${await refusedPort()}`,
  ]);
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/^konnectivity-client: dial 127\.0\.0\.1:\d+ failed: .*connection refused/);
});

it.each([
  [['--mode=bogus'], /mode must be set to either 'grpc' or 'http-connect' not "bogus"/],
  [['--proxy-uds=/x.sock', `--ca-cert=/dev/null`], /please do not set cert materials when using UDS/],
  [['--client-cert=/a'], /--client-cert and --client-key go together/],
  [['--request-port=99999'], /invalid argument "99999" for --request-port/],
  [['--no-such-flag'], /Unknown option '--no-such-flag'/],
  [['--connect-only', '--request-path=/x'], /--connect-only sends no request/],
])('%j is a usage error: exit 2 and one line', async (args, message) => {
  const run = await runClient(args);
  expect(run.code).toBe(2);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(message);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
});
