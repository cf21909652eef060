/**
 * THE FLOOR AGENT: a measuring stick for `npm run bench:floor`, not a product (one server, no reconnect,
 * no keepalive, no metrics, no event log). The least a Konnectivity agent can do per dial on Node's own
 * node:net, node:tls and node:http2, speaking the reference's wire protocol (see server.ts).
 *
 *   node bench-build/bench/floor/agent.js '{"port":..,"ca":..,"cert":..,"key":..}'
 *
 * Opens one `AgentService.Connect` stream to 127.0.0.1:port over TLS + HTTP/2 and dials what it is asked
 * to. Prints `{"event":"ready"}` once the server's response headers arrived; exits when stdin closes or
 * the stream ends.
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
  StreamHold,
  raiseSessionWindow,
  readPackets,
  sendPacket,
} from './wire';

/** The reference agent's dial timeout: a target that does not answer within it fails the dial. */
const DIAL_TIMEOUT_MS = 5_000;

interface Conn {
  socket: net.Socket;
  /** The socket's writes are full and hold the server stream paused. */
  hold: boolean;
  open: boolean;
}

const args = jsonArg<{ port: number; ca: string; cert: string; key: string }>(process.argv[2]);
let nextConnectID = 1n;
const conns = new Map<bigint, Conn>();
const dialing = new Map<bigint, net.Socket>();
/** Sockets paused because the server stream was full, resumed together on its 'drain'. */
const waiting = new Set<net.Socket>();

function main(): void {
  const session = http2.connect(`https://127.0.0.1:${args.port}`, {
    settings: LOCAL_SETTINGS,
    maxSessionMemory: MAX_SESSION_MEMORY_MIB,
    ca: fs.readFileSync(args.ca),
    cert: fs.readFileSync(args.cert),
    key: fs.readFileSync(args.key),
    servername: 'localhost',
  });
  raiseSessionWindow(session);
  session.on('error', (err) => {
    emit({ event: 'error', error: err.message });
    process.exit(1);
  });
  const stream = session.request({
    ':method': 'POST',
    ':path': CONNECT_PATH,
    'content-type': 'application/grpc',
    te: 'trailers',
    agentid: 'floor-agent',
    agentidentifiers: 'host=localhost&ipv4=127.0.0.1',
  });
  const hold = new StreamHold(stream);
  stream.on('response', () => emit({ event: 'ready' }));
  stream.on('error', () => undefined);
  stream.on('close', () => process.exit(0));
  stream.on('drain', () => {
    for (const s of waiting) s.resume();
    waiting.clear();
  });

  const release = (c: Conn): void => {
    if (c.hold) hold.release();
    c.hold = false;
  };
  const finish = (id: bigint, c: Conn): void => {
    if (!c.open) return;
    c.open = false;
    conns.delete(id);
    waiting.delete(c.socket);
    release(c);
    sendPacket(stream, packets.closeResponse(id));
  };

  const dial = (address: string, random: bigint): void => {
    const i = address.lastIndexOf(':');
    const id = nextConnectID++;
    const socket = net.connect({
      host: address.slice(0, i),
      port: Number(address.slice(i + 1)),
      noDelay: true,
    });
    socket.setTimeout(DIAL_TIMEOUT_MS, () => socket.destroy(new Error('dial timeout')));
    dialing.set(random, socket);
    const failed = (err: Error): void => {
      if (dialing.get(random) !== socket) return;
      dialing.delete(random);
      sendPacket(stream, packets.dialResponse(random, 0n, err.message));
    };
    socket.once('error', failed);
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.off('error', failed);
      socket.on('error', () => undefined);
      dialing.delete(random);
      const c: Conn = { socket, hold: false, open: true };
      conns.set(id, c);
      sendPacket(stream, packets.dialResponse(random, id));
      socket.on('data', (d: Buffer) => {
        if (c.open && !sendPacket(stream, packets.data(id, d))) {
          socket.pause();
          waiting.add(socket);
        }
      });
      socket.on('drain', () => release(c));
      socket.on('close', () => finish(id, c));
    });
  };

  readPackets(
    stream,
    (p: DecodedPacket) => {
      if (p.type === 'DIAL_REQ') dial(p.address, p.random);
      else if (p.type === 'DATA') {
        const c = conns.get(p.connectID);
        if (c && !c.socket.write(p.data) && !c.hold) {
          c.hold = true;
          hold.hold();
        }
      } else if (p.type === 'CLOSE_REQ') {
        const c = conns.get(p.connectID);
        if (c) {
          // Queued bytes still reach the target before the FIN.
          c.socket.end();
          finish(p.connectID, c);
        } else sendPacket(stream, packets.closeResponse(p.connectID, 'unknown connectID'));
      } else if (p.type === 'DIAL_CLS') {
        const s = dialing.get(p.random);
        dialing.delete(p.random);
        s?.destroy();
      }
    },
    (err) => emit({ event: 'error', error: err.message }),
  );
  onStdinCommands(() => undefined);
  // An exit, not death by signal: `node --cpu-prof` writes its profile on exit.
  process.on('SIGINT', () => process.exit(0));
}

main();
