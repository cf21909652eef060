/**
 * Dial admission through the real server binary, in both frontend modes, with a scripted agent that holds
 * its DIAL_RSPs back (a destination that never completes the dial until the test says so): with
 * `--max-dials-in-flight=2 --max-dials-waiting=3`, two dials reach the agent, three wait, and the next
 * ones are refused at once with the clear error; a waiting request whose client goes away never reaches
 * the agent; the waiting ones reach it, in order, and complete once the first two are answered.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import * as net from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import { GrpcDialError, HttpConnectError } from '../../src/client/errors';
import type { TunnelConnection } from '../../src/client/tunnelConnection';
import { packets, type Packet } from '../../src/protocol/packet';
import { stopAllProcesses } from '../helpers/processes';
import { startEchoServer, type TargetServer } from '../helpers/targets';
import { sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { READY_BACKENDS, startAgent, startServer, type Mode, type RunningTestServer } from './cluster';
import { rawAgent, rawFrontend, type RawCall } from './rawPeers';

jest.setTimeout(120_000);

const DIAL_FAILURES = 'konnectivity_network_proxy_server_dial_failure_count';
const WAITING = 'konnectivity_ts_waiting_dials';
const REFUSAL = 'too many dials waiting (3): try again';

const tls = useTlsDir();
let work: string;
let echo: TargetServer;
beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-admission-'));
  echo = await startEchoServer();
});
afterAll(async () => {
  await stopAllProcesses();
  await echo.close();
  rmSync(work, { recursive: true, force: true });
});

type DialReq = Extract<Packet, { type: 'DIAL_REQ' }>;
const dialReqs = (agent: RawCall): DialReq[] =>
  agent.received.filter((p): p is DialReq => p.type === 'DIAL_REQ');

/** The events of `type` in the server's embedded log, read with the events CLI. */
function eventsOf(server: RunningTestServer, type: string): Array<Record<string, unknown>> {
  const cli = path.join(__dirname, '../../bin/konnectivity-events');
  const r = spawnSync(cli, ['tail', `--data-dir=${server.dataDir}`, `--type=${type}`, '--json'], {
    encoding: 'utf8',
  });
  return r.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * A request that waits and then goes away, as a client would: a CONNECT on a raw socket that is closed,
 * or a Proxy stream that is cancelled. Returns the function that makes it go away.
 */
function leavingRequest(server: RunningTestServer, address: string): () => void {
  if (server.mode === 'grpc') {
    const call = rawFrontend(server.socketPath);
    call.write(packets.dialRequest(address, 999n));
    return () => call.close();
  }
  const socket = net.connect(server.socketPath);
  socket.on('error', () => undefined);
  socket.write(`CONNECT ${address} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  return () => socket.destroy();
}

async function waitingDials(server: RunningTestServer, n: number): Promise<void> {
  await waitFor(async () => (await server.metrics()).value(WAITING) === n, {
    description: `${n} dials waiting`,
    timeoutMs: 20_000,
  });
}

it.each(['grpc', 'http-connect'] as Mode[])(
  '%s: beyond 2 in flight and 3 waiting a dial is refused at once; waiting ones complete as slots free',
  async (mode) => {
    const server = await startServer(tls(), work, {
      mode,
      extraArgs: ['--max-dials-in-flight=2', '--max-dials-waiting=3'],
    });
    const agent = rawAgent(tls(), server.ports.agent, { agentid: `scripted-${mode}` });
    await agent.headers;
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'scripted agent up',
    });
    const opened: Array<TunnelConnection | net.Socket> = [];
    const dial = (address: string): Promise<TunnelConnection | net.Socket> => {
      const p = server.dial(address, 60_000);
      p.then((t) => opened.push(t)).catch(() => undefined);
      return p;
    };
    try {
      const inFlight = [dial('10.0.0.1:1'), dial('10.0.0.2:1')];
      await waitFor(() => dialReqs(agent).length === 2, { description: 'two dials at the agent' });
      const first = dial('10.0.0.3:1');
      await waitingDials(server, 1);
      const leave = leavingRequest(server, '10.0.0.99:1');
      await waitingDials(server, 2);
      const last = dial('10.0.0.4:1');
      await waitingDials(server, 3);

      // Nothing has been answered, so these are refused at once, not after a slot frees.
      const refused = await Promise.all(
        ['10.0.0.5:1', '10.0.0.6:1'].map((a) =>
          dial(a).then(
            () => null,
            (e: unknown) => e,
          ),
        ),
      );
      for (const error of refused) {
        if (mode === 'grpc') {
          expect(error).toBeInstanceOf(GrpcDialError);
          expect((error as GrpcDialError).serverError).toBe(REFUSAL);
        } else {
          expect(error).toBeInstanceOf(HttpConnectError);
          const e = error as HttpConnectError;
          expect(e.status).toBe(503);
          expect(e.body).toBe(`${REFUSAL}\n`);
          const retryAfter = Object.entries(e.headers).find(([k]) => k.toLowerCase() === 'retry-after');
          expect(retryAfter?.[1]).toBe('1');
        }
      }
      const m = await server.metrics();
      expect(m.value(DIAL_FAILURES, { reason: 'too_many_dials' })).toBe(2);
      expect(m.value(WAITING)).toBe(3);
      expect(dialReqs(agent)).toHaveLength(2);

      leave(); // its client goes away while it waits
      await waitingDials(server, 2);

      let connectID = 0n;
      for (const req of dialReqs(agent)) agent.write(packets.dialResponse(req.random, ++connectID));
      await Promise.all(inFlight);
      await waitFor(() => dialReqs(agent).length === 4, { description: 'the waiting dials at the agent' });
      const admitted = dialReqs(agent).slice(2);
      expect(admitted.map((r) => r.address)).toEqual(['10.0.0.3:1', '10.0.0.4:1']);
      for (const req of admitted) agent.write(packets.dialResponse(req.random, ++connectID));
      await Promise.all([first, last]);
      await waitingDials(server, 0);

      expect(dialReqs(agent).map((r) => r.address)).not.toContain('10.0.0.99:1');
      await waitFor(() => eventsOf(server, 'dial.cancelled').length === 1, {
        description: 'the left request recorded as cancelled',
        timeoutMs: 20_000,
      });
      expect(eventsOf(server, 'dial.cancelled')[0]).toMatchObject({
        destination: '10.0.0.99:1',
        reason: 'frontend-closed',
      });
      await waitFor(() => eventsOf(server, 'dial.failed').length === 2, {
        description: 'the refused dials recorded',
        timeoutMs: 20_000,
      });
      expect(eventsOf(server, 'dial.failed').map((e) => e['reason'])).toEqual([
        'too-many-dials',
        'too-many-dials',
      ]);
    } finally {
      for (const t of opened) t.destroy();
      agent.close();
    }
  },
);

it.each(['grpc', 'http-connect'] as Mode[])(
  '%s: with the real agent, a burst of 200 echoes through 2 dial slots all complete, none refused',
  async (mode) => {
    const server = await startServer(tls(), work, {
      mode,
      extraArgs: ['--max-dials-in-flight=2', '--max-dials-waiting=1000', '-v=2'],
    });
    const agent = await startAgent(tls(), work, server, { agentId: `burst-${mode}` });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'agent connected',
    });
    const accepted = echo.accepted;
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const tunnel = await server.dial(`127.0.0.1:${echo.port}`, 60_000);
        const payload = Buffer.from(`echo ${i} `.repeat(20));
        const reply = await sendAndReceive(tunnel, payload, payload.length, 60_000);
        tunnel.destroy();
        return reply.equals(payload);
      }),
    );
    expect(results.every(Boolean)).toBe(true);
    expect(echo.accepted - accepted).toBe(200);
    expect(server.process.output()).toContain('dial waits for admission');
    const m = await server.metrics();
    expect(m.value(DIAL_FAILURES, { reason: 'too_many_dials' }) ?? 0).toBe(0);
    expect(m.value(WAITING)).toBe(0);
    // Each dial reached the agent exactly once.
    const a = await agent.metrics();
    expect(a.value('konnectivity_network_proxy_agent_dial_duration_seconds_count')).toBe(200);
  },
);
