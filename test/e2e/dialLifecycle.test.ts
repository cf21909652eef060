/**
 * Where we are better than the reference on the wire, tested with a scripted agent that speaks raw packets:
 * DIAL_CLS reaches the agent, a late DIAL_RSP is answered with CLOSE_REQ, a pending dial fails at once when
 * its agent goes away, and --backend-dial-timeout bounds the wait. Also mTLS on the agent port.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'fs';
import { DialError } from '../../src/client/errors';
import { dialViaGrpc } from '../../src/client/grpcTunnel';
import { packets, type Packet } from '../../src/protocol/packet';
import { stopAllProcesses } from '../helpers/processes';
import { startEchoServer, type TargetServer } from '../helpers/targets';
import { sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import {
  OPEN_SERVER_CONNECTIONS,
  READY_BACKENDS,
  startAgent,
  startServer,
  type Mode,
  type RunningTestServer,
} from './cluster';
import { rawAgent, type RawCall } from './rawPeers';

jest.setTimeout(60_000);

const DIAL_FAILURES = 'konnectivity_network_proxy_server_dial_failure_count';

/** The reasons of the dial.failed events in the server's embedded event log, read with the events CLI. */
function dialFailedReasons(server: RunningTestServer): string[] {
  const dataDir = server.args.find((a) => a.startsWith('--data-dir='))!.slice('--data-dir='.length);
  const cli = path.join(__dirname, '../../bin/konnectivity-events');
  const r = spawnSync(cli, ['tail', `--data-dir=${dataDir}`, '--type=dial.failed', '--json'], {
    encoding: 'utf8',
  });
  return r.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => (JSON.parse(line) as { reason?: string }).reason ?? '');
}

const tls = useTlsDir();
let work: string;
let echo: TargetServer;
beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-dial-'));
  echo = await startEchoServer();
});
afterAll(async () => {
  await stopAllProcesses();
  await echo.close();
  rmSync(work, { recursive: true, force: true });
});

async function serverWithScriptedAgent(
  mode: Mode,
  extraArgs: string[] = [],
): Promise<[RunningTestServer, RawCall]> {
  const server = await startServer(tls(), work, { mode, extraArgs });
  const agent = rawAgent(tls(), server.ports.agent, { agentid: 'scripted' });
  await agent.headers;
  await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
    description: 'scripted agent up',
  });
  return [server, agent];
}

async function nextDialReq(agent: RawCall, seen = 0): Promise<Extract<Packet, { type: 'DIAL_REQ' }>> {
  await waitFor(() => agent.received.filter((p) => p.type === 'DIAL_REQ').length > seen, {
    description: 'DIAL_REQ',
  });
  return agent.received.filter((p) => p.type === 'DIAL_REQ')[seen] as Extract<Packet, { type: 'DIAL_REQ' }>;
}

it('forwards DIAL_CLS to the agent, and answers a DIAL_RSP that arrives after it with CLOSE_REQ', async () => {
  const [server, agent] = await serverWithScriptedAgent('grpc');
  // A frontend that gives up: a 300 ms dial timeout makes our client send DIAL_CLS.
  const dialing = dialViaGrpc({
    target: `unix://${server.socketPath}`,
    address: '10.0.0.5:10250',
    timeoutMs: 300,
  });
  const req = await nextDialReq(agent);
  await expect(dialing).rejects.toBeDefined();
  await waitFor(() => agent.received.some((p) => p.type === 'DIAL_CLS'), {
    description: 'DIAL_CLS at the agent',
  });
  expect(agent.received.find((p) => p.type === 'DIAL_CLS')).toEqual(packets.closeDial(req.random));

  agent.write(packets.dialResponse(req.random, 42n)); // too late: the agent opened a connection anyway
  await waitFor(() => agent.received.some((p) => p.type === 'CLOSE_REQ'), {
    description: 'CLOSE_REQ for the late one',
  });
  expect(agent.received.find((p) => p.type === 'CLOSE_REQ')).toEqual(packets.closeRequest(42n));
  agent.close();
});

it.each(['grpc', 'http-connect'] as Mode[])(
  '%s: fails a pending dial at once when its agent disconnects, recorded as a lost agent',
  async (mode) => {
    const [server, agent] = await serverWithScriptedAgent(mode);
    const dialing = server.dial('10.0.0.5:10250', 30_000);
    dialing.catch(() => {});
    await nextDialReq(agent);
    agent.close(); // the agent dies with the dial pending
    // Failed because the agent went, not because the caller's 30 s timeout ran out.
    const failure: unknown = await dialing.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(DialError);
    expect((failure as DialError).reason).not.toBe('timeout');
    if (mode === 'http-connect') expect(failure).toMatchObject({ status: 502 });
    const metrics = await server.metrics();
    expect(metrics.value('konnectivity_network_proxy_server_pending_backend_dials')).toBe(0);
    expect(metrics.value(DIAL_FAILURES, { reason: 'backend_close' })).toBe(1);
    expect(metrics.value(DIAL_FAILURES, { reason: 'error_response' }) ?? 0).toBe(0);
    await waitFor(() => dialFailedReasons(server).includes('agent-lost'), {
      description: 'a dial.failed event with reason agent-lost',
    });
    expect(dialFailedReasons(server)).not.toContain('agent-error');
  },
);

it('an agent that answers with an error is recorded as such (error_response, 502 with its text)', async () => {
  const [server, agent] = await serverWithScriptedAgent('http-connect');
  const dialing = server.dial('10.0.0.5:10250', 30_000);
  const req = await nextDialReq(agent);
  agent.write(packets.dialResponse(req.random, 0n, 'dial tcp 10.0.0.5:10250: connect: connection refused'));
  await expect(dialing).rejects.toMatchObject({
    status: 502,
    body: 'dial tcp 10.0.0.5:10250: connect: connection refused\n',
  });
  const metrics = await server.metrics();
  expect(metrics.value(DIAL_FAILURES, { reason: 'error_response' })).toBe(1);
  expect(metrics.value(DIAL_FAILURES, { reason: 'backend_close' }) ?? 0).toBe(0);
  await waitFor(() => dialFailedReasons(server).includes('agent-error'), {
    description: 'a dial.failed event with reason agent-error',
  });
});

it.each([
  ['grpc', (e: unknown) => expect(String(e)).toMatch(/dial timeout/)],
  ['http-connect', (e: unknown) => expect(e).toMatchObject({ status: 504 })],
] as const)(
  '%s: --backend-dial-timeout fails a dial the agent never answers, and cancels it at the agent',
  async (mode, check) => {
    const [server, agent] = await serverWithScriptedAgent(mode, ['--backend-dial-timeout=500ms']);
    // The caller would wait 30 s: a failure before that is the server's, and the metric below names its cause.
    const error = await server.dial('10.0.0.5:10250', 30_000).then(
      () => null,
      (e: unknown) => e,
    );
    check(error);
    await waitFor(() => agent.received.some((p) => p.type === 'DIAL_CLS'), {
      description: 'DIAL_CLS after the timeout',
    });
    const m = await server.metrics();
    expect(
      m.value('konnectivity_network_proxy_server_dial_failure_count', { reason: 'backend_dial_timeout' }),
    ).toBe(1);
    agent.close();
  },
);

it('with --cluster-ca-cert, admits only agents that present a certificate the CA signed (mTLS)', async () => {
  const server = await startServer(tls(), work, {
    mode: 'grpc',
    extraArgs: [`--cluster-ca-cert=${tls().caCert}`],
  });
  // No client certificate: the TLS handshake itself fails.
  const client = new grpc.Client(
    `localhost:${server.ports.agent}`,
    grpc.credentials.createSsl(readFileSync(tls().caCert)),
    {
      'grpc.use_local_subchannel_pool': 1,
    },
  );
  const status = await new Promise<grpc.StatusObject>((resolve) => {
    const md = new grpc.Metadata();
    md.set('agentid', 'no-cert');
    const call = client.makeBidiStreamRequest(
      '/AgentService/Connect',
      (b: Buffer) => b,
      (b: Buffer) => b,
      md,
      {},
    );
    call.on('error', () => {});
    call.on('status', resolve);
  });
  expect(status.code).toBe(grpc.status.UNAVAILABLE);
  client.close();

  const agent = await startAgent(tls(), work, server, {
    agentId: 'with-cert',
    extraArgs: [`--agent-cert=${tls().agentCert}`, `--agent-key=${tls().agentKey}`],
  });
  await waitFor(async () => (await agent.metrics()).value(OPEN_SERVER_CONNECTIONS) === 1, {
    description: 'mTLS agent up',
  });
  const tunnel = await server.dial(`127.0.0.1:${echo.port}`);
  expect((await sendAndReceive(tunnel, Buffer.from('mtls'), 4)).toString()).toBe('mtls');
  tunnel.destroy();
});
