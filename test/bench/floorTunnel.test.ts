/**
 * The floor tunnel of `npm run bench:floor` (bench/floor/) is a measuring stick: if it broke, the bench
 * would compare ours against nothing. This starts its server and agent as the bench does (compiled, as
 * separate processes) and carries one CONNECT echo and one gRPC-frontend echo through them with our
 * client library, the one bench/client.ts uses, then checks that each close reaches the target.
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import * as http2 from 'http2';
import * as net from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import { PROXY_PATH, readPackets, sendPacket } from '../../bench/floor/wire';
import { startFloor, type Stack } from '../../bench/floorStack';
import { dialViaGrpc } from '../../src/client/grpcTunnel';
import { dialViaHttpConnect } from '../../src/client/httpConnectTunnel';
import { packets, type DecodedPacket } from '../../src/protocol/packet';
import { stopAllProcesses } from '../helpers/processes';
import { startEchoServer, type TargetServer } from '../helpers/targets';
import { sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';

const ROOT = path.join(__dirname, '../..');
/** Stops only a hung test: compiling bench/ alone takes tens of seconds on a loaded 2-core machine. */
jest.setTimeout(240_000);

const tls = useTlsDir();
let work: string;
let echo: TargetServer;

beforeAll(async () => {
  // The floor runs as the bench runs it: compiled into bench-build/ by tsconfig.bench.json.
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.bench.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  work = mkdtempSync(path.join(tmpdir(), 'floor-test-'));
  echo = await startEchoServer();
});
afterAll(async () => {
  await stopAllProcesses();
  await echo?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function floor(mode: 'http-connect' | 'grpc'): Promise<Stack> {
  const dir = mkdtempSync(path.join(work, `${mode}-`));
  return startFloor({ mode, tls: tls(), dir, cpuProf: '', benchDir: path.join(ROOT, 'bench-build/bench') });
}

it('carries a CONNECT echo, and the client closing it closes the target connection', async () => {
  const stack = await floor('http-connect');
  if (stack.via.kind === 'direct') throw new Error('the floor is a tunnel');
  const accepted = echo.accepted;
  // strict (the default): the success head must be the reference's, byte for byte.
  const conn = await dialViaHttpConnect({ socketPath: stack.via.socketPath, address: echo.address });
  const reply = await sendAndReceive(conn, Buffer.from('ping through the floor'));
  expect(reply.toString()).toBe('ping through the floor');
  expect(echo.accepted).toBe(accepted + 1);
  conn.end();
  await waitFor(() => echo.open === 0, { description: 'the agent to close the target connection' });
  await stack.stop();
});

it('carries a gRPC-frontend echo through the bench client, and answers CLOSE_REQ with CLOSE_RSP', async () => {
  const stack = await floor('grpc');
  if (stack.via.kind === 'direct') throw new Error('the floor is a tunnel');
  const socketPath = stack.via.socketPath;
  const conn = await dialViaGrpc({ target: `unix://${socketPath}`, address: echo.address });
  expect([...(await sendAndReceive(conn, Buffer.from([1, 2, 3, 4])))]).toEqual([1, 2, 3, 4]);
  conn.destroy();

  // The same exchange packet by packet, where a missing CLOSE_RSP cannot hide behind the client's timeout.
  const session = http2.connect('http://localhost', {
    createConnection: () => net.connect(socketPath),
  });
  session.on('error', () => undefined);
  const call = session.request({
    ':method': 'POST',
    ':path': PROXY_PATH,
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  const got: DecodedPacket[] = [];
  readPackets(
    call,
    (p) => got.push(p),
    (err) => {
      throw err;
    },
  );
  const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => call.on('trailers', resolve));
  sendPacket(call, packets.dialRequest(echo.address, 42n));
  const rsp = await waitFor(() => got.find((p) => p.type === 'DIAL_RSP'), { description: 'DIAL_RSP' });
  if (rsp.type !== 'DIAL_RSP') throw new Error('unreachable');
  expect(rsp).toMatchObject({ random: 42n, error: '' });
  sendPacket(call, packets.data(rsp.connectID, Buffer.from('abcd')));
  await waitFor(() => got.some((p) => p.type === 'DATA' && p.data.toString() === 'abcd'), {
    description: 'echoed DATA',
  });
  sendPacket(call, packets.closeRequest(rsp.connectID));
  await waitFor(() => got.some((p) => p.type === 'CLOSE_RSP' && p.connectID === rsp.connectID), {
    description: 'CLOSE_RSP',
  });
  call.end();
  expect((await trailers)['grpc-status']).toBe('0');
  session.close();
  await waitFor(() => echo.open === 0, { description: 'the agent to close the target connections' });
  await stack.stop();
});
