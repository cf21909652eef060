/**
 * THE FLOOR SERVER: a measuring stick for `npm run bench:floor`, not a product (no auth, no metrics, no
 * event log, no admission, no keepalive, one agent). The least a Konnectivity server can do per dial on
 * Node's own node:net, node:tls and node:http2, speaking the reference's wire protocol, so that the bench can
 * tell Node's cost from ours. Never imported from src/.
 *
 *   node bench-build/bench/floor/server.js '{"cert":..,"key":..,"httpSocket":..,"grpcSocket":..}'
 *
 * Agents connect with TLS + HTTP/2 to `AgentService.Connect` on 127.0.0.1 (port on the `ready` line);
 * frontends reach it on two Unix sockets: HTTP CONNECT and gRPC `ProxyService.Proxy` (h2c). Prints JSON
 * lines (`ready`, then `agent` when an agent's stream is up); exits when stdin closes.
 */
import * as fs from 'fs';
import * as http2 from 'http2';
import * as net from 'net';
import { packets, type DecodedPacket } from '../../src/protocol/packet';
import { emit, jsonArg, onStdinCommands } from '../common';
import {
  CONNECT_PATH,
  LOCAL_SETTINGS,
  MAX_SESSION_MEMORY_MIB,
  PROXY_PATH,
  StreamHold,
  raiseSessionWindow,
  readPackets,
  sendFrame,
  sendPacket,
} from './wire';

/** Bytes of a CONNECT request head we wait for before calling it malformed. */
const MAX_HEAD_BYTES = 8 * 1024;
const ESTABLISHED = 'HTTP/1.1 200 Connection Established\r\n\r\n';

/** One frontend connection, whatever its kind: what agent packets need to reach it. */
interface Front {
  random: bigint;
  connectID: bigint;
  dialed(err: string, frame: Buffer): void;
  data(frame: Buffer, payload: Buffer): void;
  closed(frame: Buffer): void;
  /** Resumes the frontend's input after the agent stream drained. */
  resume(): void;
}

const args = jsonArg<{ cert: string; key: string; httpSocket: string; grpcSocket: string }>(process.argv[2]);
let agent: http2.ServerHttp2Stream | undefined;
let agentHold: StreamHold | undefined;
let nextRandom = 1n;
const pending = new Map<bigint, Front>();
const conns = new Map<bigint, Front>();
/** Frontends paused because the agent stream was full, resumed together on its 'drain'. */
const waiting = new Set<Front>();

/** Sends toward the agent; a full stream pauses `front` until the stream drains. */
function toAgent(front: Front, ok: boolean, pause: () => void): void {
  if (ok) return;
  pause();
  waiting.add(front);
}

function onAgentPacket(p: DecodedPacket, frame: Buffer): void {
  if (p.type === 'DIAL_RSP') {
    const f = pending.get(p.random);
    if (!f) {
      // The frontend went away while the dial ran: the agent's connection has no one to serve.
      if (!p.error && agent) sendPacket(agent, packets.closeRequest(p.connectID));
      return;
    }
    pending.delete(p.random);
    if (!p.error) {
      f.connectID = p.connectID;
      conns.set(p.connectID, f);
    }
    f.dialed(p.error, frame);
  } else if (p.type === 'DATA') conns.get(p.connectID)?.data(frame, p.data);
  else if (p.type === 'CLOSE_RSP') {
    const f = conns.get(p.connectID);
    conns.delete(p.connectID);
    f?.closed(frame);
  }
}

function dial(front: Front, address: string): void {
  if (!agent) return front.dialed('no agent', Buffer.alloc(0));
  front.random = nextRandom++;
  pending.set(front.random, front);
  sendPacket(agent, packets.dialRequest(address, front.random));
}

/** The frontend is gone: tell the agent to drop what it holds for it (once). */
function frontGone(front: Front): void {
  waiting.delete(front);
  if (pending.delete(front.random)) {
    if (agent) sendPacket(agent, packets.closeDial(front.random));
  } else if (conns.delete(front.connectID) && agent) sendPacket(agent, packets.closeRequest(front.connectID));
}

function httpConnect(socket: net.Socket): void {
  socket.on('error', () => undefined);
  let head = Buffer.alloc(0);
  let hold = false;
  const front: Front = {
    random: 0n,
    connectID: 0n,
    dialed(err) {
      if (err) return void socket.end(`HTTP/1.1 502 Bad Gateway\r\n\r\n`);
      socket.write(ESTABLISHED);
      socket.on('data', (d: Buffer) => {
        if (agent) toAgent(front, sendPacket(agent, packets.data(front.connectID, d)), () => socket.pause());
      });
      socket.on('drain', () => {
        if (hold) agentHold?.release();
        hold = false;
      });
      if (head.length) socket.emit('data', head);
      socket.resume();
    },
    data(_frame, payload) {
      if (!socket.write(payload) && !hold) {
        hold = true;
        agentHold?.hold();
      }
    },
    closed: () => socket.end(),
    resume: () => socket.resume(),
  };
  const onHead = (d: Buffer): void => {
    head = Buffer.concat([head, d]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > MAX_HEAD_BYTES) socket.destroy();
      return;
    }
    socket.off('data', onHead);
    socket.pause();
    const m = /^CONNECT (\S+) HTTP\/1\.1\r\n/.exec(head.toString('latin1', 0, end + 2));
    head = head.subarray(end + 4);
    if (!m) return void socket.end('HTTP/1.1 405 Method Not Allowed\r\n\r\n');
    dial(front, m[1]!);
  };
  socket.on('data', onHead);
  socket.on('close', () => {
    if (hold) agentHold?.release();
    hold = false;
    frontGone(front);
  });
}

function grpcProxy(stream: http2.ServerHttp2Stream): void {
  stream.on('error', () => undefined);
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  let hold = false;
  const forward = (frame: Buffer): void => {
    if (!sendFrame(stream, frame) && !hold) {
      hold = true;
      agentHold?.hold();
    }
  };
  const front: Front = {
    random: 0n,
    connectID: 0n,
    dialed(err, frame) {
      if (frame.length) forward(frame);
      else sendPacket(stream, packets.dialResponse(front.random, 0n, err));
      if (err) stream.end();
    },
    data: forward,
    closed(frame) {
      if (frame.length) forward(frame);
      stream.end();
    },
    resume: () => stream.resume(),
  };
  stream.on('drain', () => {
    if (hold) agentHold?.release();
    hold = false;
  });
  readPackets(
    stream,
    (p, frame) => {
      if (p.type === 'DIAL_REQ') {
        front.random = p.random;
        if (!agent) return front.dialed('no agent', Buffer.alloc(0));
        pending.set(p.random, front);
        toAgent(front, sendFrame(agent, frame), () => stream.pause());
      } else if (p.type === 'DATA' || p.type === 'CLOSE_REQ') {
        if (agent) toAgent(front, sendFrame(agent, frame), () => stream.pause());
      } else if (p.type === 'DIAL_CLS') {
        if (pending.delete(p.random) && agent) sendFrame(agent, frame);
      }
    },
    () => undefined,
  );
  stream.on('close', () => {
    if (hold) agentHold?.release();
    hold = false;
    frontGone(front);
  });
}

function agentStream(stream: http2.ServerHttp2Stream): void {
  stream.on('error', () => undefined);
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', serverid: 'floor', servercount: '1' });
  agent = stream;
  agentHold = new StreamHold(stream);
  stream.on('drain', () => {
    for (const f of waiting) f.resume();
    waiting.clear();
  });
  readPackets(stream, onAgentPacket, () => undefined);
  stream.on('close', () => {
    if (agent !== stream) return;
    agent = undefined;
    for (const f of [...pending.values(), ...conns.values()]) f.closed(Buffer.alloc(0));
    pending.clear();
    conns.clear();
  });
  emit({ event: 'agent' });
}

function h2Options(): http2.ServerOptions {
  return { settings: LOCAL_SETTINGS, maxSessionMemory: MAX_SESSION_MEMORY_MIB };
}

function main(): void {
  const agents = http2.createSecureServer({
    ...h2Options(),
    cert: fs.readFileSync(args.cert),
    key: fs.readFileSync(args.key),
  });
  agents.on('session', raiseSessionWindow);
  agents.on('stream', (s, h) =>
    h[':path'] === CONNECT_PATH ? agentStream(s) : s.close(http2.constants.NGHTTP2_REFUSED_STREAM),
  );
  const grpc = http2.createServer(h2Options());
  grpc.on('session', raiseSessionWindow);
  grpc.on('stream', (s, h) =>
    h[':path'] === PROXY_PATH ? grpcProxy(s) : s.close(http2.constants.NGHTTP2_REFUSED_STREAM),
  );
  const http = net.createServer({ noDelay: true }, httpConnect);
  for (const p of [args.httpSocket, args.grpcSocket]) fs.rmSync(p, { force: true });
  let listening = 0;
  const ready = (): void => {
    if (++listening < 3) return;
    emit({ event: 'ready', agentPort: (agents.address() as net.AddressInfo).port });
  };
  agents.listen(0, '127.0.0.1', ready);
  grpc.listen(args.grpcSocket, ready);
  http.listen(args.httpSocket, ready);
  onStdinCommands(() => undefined);
  // An exit, not death by signal: `node --cpu-prof` writes its profile on exit.
  process.on('SIGINT', () => process.exit(0));
}

main();
