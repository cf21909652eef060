/**
 * Micro-benchmark of the two gRPC transports behind the PacketStream interface: grpc-js (what the binaries
 * used before, now a plain grpc-js server) against the node:http2 transport in src/transport/h2/. Not a test:
 * it prints figures for a person to judge.
 *
 *   npm run build:bench && node bench-build/bench/h2.js [--rounds 5] [--mib 256] [--streams 1000]
 *                                                       [--transports tls,uds] [--impls grpc-js,ours]
 *
 * For each round, transport (TLS on loopback, Unix socket) and implementation, a server process and a
 * client process are started (so each one's CPU is its own) and measured on three phases:
 *   upload    one stream, client -> server, 64 KiB DATA packets (the agent -> server direction)
 *   download  one stream, server -> client, 64 KiB DATA packets
 *   streams   sequential open / DIAL_REQ echo / close of one call (a frontend Proxy stream's life)
 * CPU is process.cpuUsage() (user + system) of each process over the phase. Medians of the rounds are
 * printed at the end.
 */
import * as grpc from '@grpc/grpc-js';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stopAllProcesses } from '../test/helpers/processes';
import { makeTlsDir } from '../test/helpers/tls';
import { packets, type DecodedPacket } from '../src/protocol/packet';
import { GrpcPacketStream } from '../src/transport/grpcPacketStream';
import {
  CONNECT_PATH,
  PROXY_PATH,
  agentServiceDefinition,
  deserializeIncoming,
  proxyServiceDefinition,
  serializePacket,
} from '../src/transport/grpcServices';
import { CLIENT_WINDOW_OPTIONS } from '../src/transport/grpcWindows';
import { H2Client } from '../src/transport/h2/h2Client';
import { startH2Server } from '../src/transport/h2/h2Server';
import type { PacketStream, StreamEnd } from '../src/transport/packetStream';
import { MiB, emit, jsonArg, median, onStdinCommands, type Msg } from './common';
import { LineChild } from './lineChild';

const CHUNK = 64 * 1024;
/** Each phase moves at most a few hundred MiB; a phase not done in this long is stuck. */
const PHASE_TIMEOUT_MS = 300_000;

type Impl = 'ours' | 'grpc-js';
type Transport = 'tls' | 'uds';
interface Files {
  serverCert: string;
  serverKey: string;
  caCert: string;
  socket: string;
}
type Open = (p: string) => PacketStream;

function listArg(name: string, fallback: string[]): string[] {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? '').split(',') : fallback;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

// ------------------------------------------------------------------------------------------ both sides

/** Server behaviour on any PacketStream: Connect counts uploads / floods downloads, Proxy echoes. */
function serveStream(stream: PacketStream, pathName: string): void {
  let received = 0;
  const payload = Buffer.alloc(CHUNK, 7);
  const flood = (total: number) => {
    let sent = 0;
    return (): void => {
      while (sent < total) {
        sent += CHUNK;
        if (!stream.send(packets.data(1n, payload))) return;
      }
      stream.send(packets.drain());
    };
  };
  let pump: (() => void) | undefined;
  stream.attach({
    packet: (p: DecodedPacket) => {
      if (pathName === PROXY_PATH) {
        if (p.type !== 'UNKNOWN') stream.send(p);
      } else if (p.type === 'DATA') {
        received += p.data.length;
      } else if (p.type === 'DIAL_REQ' && p.address.startsWith('download:')) {
        pump = flood(Number(p.address.slice('download:'.length)));
        pump();
      } else if (p.type === 'DRAIN') {
        stream.send(packets.closeResponse(BigInt(received)));
        received = 0;
      }
    },
    malformed: () => {},
    drain: () => pump?.(),
    end: () => stream.close(),
  });
}

// -------------------------------------------------------------------------------------------- servers

async function startOursServer(transport: Transport, tls: Files): Promise<number> {
  const server = await startH2Server({
    listen:
      transport === 'uds'
        ? { kind: 'uds', path: tls.socket, deleteExisting: true }
        : { kind: 'tcp', host: '127.0.0.1', port: 0 },
    ...(transport === 'tls'
      ? { tls: { cert: fs.readFileSync(tls.serverCert), key: fs.readFileSync(tls.serverKey) } }
      : {}),
    routes: {
      [CONNECT_PATH]: (call) =>
        serveStream(call.accept({ serverid: 'bench', servercount: '1' }), CONNECT_PATH),
      [PROXY_PATH]: (call) => serveStream(call.accept(), PROXY_PATH),
    },
  });
  return server.port;
}

async function startGrpcJsServer(transport: Transport, tls: Files): Promise<number> {
  const server = new grpc.Server();
  server.addService(agentServiceDefinition, {
    Connect: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
      const md = new grpc.Metadata();
      md.set('serverid', 'bench');
      md.set('servercount', '1');
      call.sendMetadata(md);
      serveStream(new GrpcPacketStream(call, 'bench', 'server'), CONNECT_PATH);
    },
  });
  server.addService(proxyServiceDefinition, {
    Proxy: (call: grpc.ServerDuplexStream<unknown, unknown>) =>
      serveStream(new GrpcPacketStream(call, 'bench', 'server'), PROXY_PATH),
  });
  // A plain grpc-js server (what the binaries ran before they moved to node:http2), without the private
  // tweaks they had (raised windows, read-while-writing sessions): those are gone with that code.
  if (transport === 'uds') fs.rmSync(tls.socket, { force: true });
  const creds =
    transport === 'uds'
      ? grpc.ServerCredentials.createInsecure()
      : grpc.ServerCredentials.createSsl(
          null,
          [{ cert_chain: fs.readFileSync(tls.serverCert), private_key: fs.readFileSync(tls.serverKey) }],
          false,
        );
  return new Promise((resolve, reject) =>
    server.bindAsync(transport === 'uds' ? `unix://${tls.socket}` : '127.0.0.1:0', creds, (err, port) =>
      err ? reject(err) : resolve(transport === 'uds' ? 0 : port),
    ),
  );
}

async function runServer(impl: Impl, transport: Transport, tls: Files): Promise<void> {
  const port = await (impl === 'ours' ? startOursServer : startGrpcJsServer)(transport, tls);
  let mark = process.cpuUsage();
  emit({ event: 'ready', port });
  onStdinCommands((cmd) => {
    if (cmd.cmd === 'mark') {
      emit({ event: 'cpu', ms: cpuMs(mark) });
      mark = process.cpuUsage();
    }
  });
}

// -------------------------------------------------------------------------------------------- clients

/** Opens calls as PacketStreams. */
async function oursOpener(transport: Transport, tls: Files, port: number): Promise<Open> {
  const client = await H2Client.connect({
    target:
      transport === 'uds' ? { kind: 'uds', path: tls.socket } : { kind: 'tcp', host: '127.0.0.1', port },
    ...(transport === 'tls' ? { tls: { ca: fs.readFileSync(tls.caCert), serverName: 'localhost' } } : {}),
  });
  return (p) => client.openCall(p).stream;
}

async function grpcJsOpener(transport: Transport, tls: Files, port: number): Promise<Open> {
  const target = transport === 'uds' ? `unix://${tls.socket}` : `localhost:${port}`;
  const creds =
    transport === 'uds'
      ? grpc.credentials.createInsecure()
      : grpc.credentials.createSsl(fs.readFileSync(tls.caCert));
  const client = new grpc.Client(target, creds, { ...CLIENT_WINDOW_OPTIONS });
  return (p) => {
    const call = client.makeBidiStreamRequest(
      p,
      serializePacket,
      deserializeIncoming,
      new grpc.Metadata(),
      {},
    );
    return new GrpcPacketStream(call as never, 'bench', 'client');
  };
}

function attachClient(
  stream: PacketStream,
  onPacket: (p: DecodedPacket) => void,
  onDrain: () => void,
  onEnd: (e: StreamEnd) => void,
): void {
  stream.attach({ packet: onPacket, malformed: () => {}, drain: () => onDrain(), end: (e) => onEnd(e) });
}

function upload(open: Open, bytes: number): Promise<number> {
  const payload = Buffer.alloc(CHUNK, 3);
  return new Promise((resolve) => {
    const stream = open(CONNECT_PATH);
    let sent = 0;
    const pump = (): void => {
      while (sent < bytes) {
        sent += CHUNK;
        if (!stream.send(packets.data(1n, payload))) return;
      }
      stream.send(packets.drain());
    };
    attachClient(
      stream,
      (p) => {
        if (p.type === 'CLOSE_RSP') {
          stream.close();
          resolve(Number(p.connectID));
        }
      },
      pump,
      () => {},
    );
    pump();
  });
}

function download(open: Open, bytes: number): Promise<number> {
  return new Promise((resolve) => {
    const stream = open(CONNECT_PATH);
    let got = 0;
    attachClient(
      stream,
      (p) => {
        if (p.type === 'DATA') got += p.data.length;
        if (p.type === 'DRAIN') {
          stream.close();
          resolve(got);
        }
      },
      () => {},
      () => {},
    );
    stream.send(packets.dialRequest(`download:${bytes}`, 1n));
  });
}

function oneStream(open: Open, i: number): Promise<void> {
  return new Promise((resolve) => {
    const stream = open(PROXY_PATH);
    attachClient(
      stream,
      () => stream.close(),
      () => {},
      () => resolve(),
    );
    stream.send(packets.dialRequest(`10.0.0.1:${i}`, BigInt(i + 1)));
  });
}

async function runClient(impl: Impl, transport: Transport, tls: Files, port: number): Promise<void> {
  const open = await (impl === 'ours' ? oursOpener : grpcJsOpener)(transport, tls, port);
  // Warm-up: JIT, TLS session, buffers.
  await upload(open, 16 * MiB);
  await download(open, 16 * MiB);
  for (let i = 0; i < 50; i++) await oneStream(open, i);
  emit({ event: 'ready' });
  onStdinCommands((cmd) => {
    void (async () => {
      const mark = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      let count: number;
      if (cmd.cmd === 'upload') count = await upload(open, Number(cmd.bytes));
      else if (cmd.cmd === 'download') count = await download(open, Number(cmd.bytes));
      else {
        for (let i = 0; i < Number(cmd.streams); i++) await oneStream(open, i);
        count = Number(cmd.streams);
      }
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      emit({ event: 'done', count, wallMs, cpuMs: cpuMs(mark) });
    })();
  });
}

// --------------------------------------------------------------------------------------------- driver

interface PhaseResult {
  wallMs: number;
  cpuMs: number;
  serverCpuMs: number;
}
type Measured = Record<'upload' | 'download' | 'streams', PhaseResult>;

async function measure(impl: Impl, transport: Transport, tls: Files, phases: Msg[]): Promise<Measured> {
  const server = new LineChild('h2.js', ['server', impl, transport, JSON.stringify(tls)], {
    name: `h2 server ${impl}`,
  });
  try {
    const ready = await server.next((m) => m.event === 'ready', PHASE_TIMEOUT_MS);
    const client = new LineChild(
      'h2.js',
      ['client', impl, transport, JSON.stringify(tls), String(ready.port)],
      {
        name: `h2 client ${impl}`,
      },
    );
    try {
      await client.next((m) => m.event === 'ready', PHASE_TIMEOUT_MS);
      const out: Partial<Measured> = {};
      for (const phase of phases) {
        server.send({ cmd: 'mark' });
        await server.next((m) => m.event === 'cpu', PHASE_TIMEOUT_MS);
        client.send(phase);
        const done = await client.next((m) => m.event === 'done', PHASE_TIMEOUT_MS);
        server.send({ cmd: 'mark' });
        const serverCpu = (await server.next((m) => m.event === 'cpu', PHASE_TIMEOUT_MS)).ms as number;
        out[phase.cmd as keyof Measured] = {
          wallMs: done.wallMs as number,
          cpuMs: done.cpuMs as number,
          serverCpuMs: serverCpu,
        };
      }
      return out as Measured;
    } finally {
      await client.stop();
    }
  } finally {
    await server.stop();
  }
}

async function drive(): Promise<void> {
  const rounds = arg('rounds', 5);
  const bytes = arg('mib', 256) * MiB;
  const streams = arg('streams', 1000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-h2-'));
  const files = await makeTlsDir();
  const tls: Files = {
    serverCert: files.serverCert,
    serverKey: files.serverKey,
    caCert: files.caCert,
    socket: path.join(dir, 'grpc.sock'),
  };
  const phases = [
    { cmd: 'upload', bytes },
    { cmd: 'download', bytes },
    { cmd: 'streams', streams },
  ];
  const results: Record<string, Measured[]> = {};
  try {
    for (let r = 0; r < rounds; r++) {
      for (const transport of listArg('transports', ['tls', 'uds']) as Transport[]) {
        for (const impl of listArg('impls', ['grpc-js', 'ours']) as Impl[]) {
          const m = await measure(impl, transport, tls, phases);
          const key = `${transport} ${impl}`;
          (results[key] ??= []).push(m);
          console.error(
            `round ${r + 1} ${key}: upload ${((bytes / m.upload.wallMs) * 1e3) / 1e6} MB/s, download ${((bytes / m.download.wallMs) * 1e3) / 1e6} MB/s, ${((streams / m.streams.wallMs) * 1e3).toFixed(0)} streams/s`,
          );
        }
      }
    }
  } finally {
    await stopAllProcesses();
    fs.rmSync(dir, { recursive: true, force: true });
    await files.cleanup();
  }
  const mib = bytes / MiB;
  const rows = [];
  for (const [key, ms] of Object.entries(results)) {
    const med = (f: (m: Measured) => number): number => median(ms.map(f));
    rows.push({
      'transport impl': key,
      'up MB/s': med((m) => bytes / m.upload.wallMs / 1e3).toFixed(0),
      'up cpu ms/MiB cli': med((m) => m.upload.cpuMs / mib).toFixed(2),
      'up cpu ms/MiB srv': med((m) => m.upload.serverCpuMs / mib).toFixed(2),
      'down MB/s': med((m) => bytes / m.download.wallMs / 1e3).toFixed(0),
      'down cpu ms/MiB cli': med((m) => m.download.cpuMs / mib).toFixed(2),
      'down cpu ms/MiB srv': med((m) => m.download.serverCpuMs / mib).toFixed(2),
      'streams/s': med((m) => (streams / m.streams.wallMs) * 1e3).toFixed(0),
      'cpu ms/stream cli': med((m) => m.streams.cpuMs / streams).toFixed(3),
      'cpu ms/stream srv': med((m) => m.streams.serverCpuMs / streams).toFixed(3),
    });
  }
  console.log(`medians of ${rounds} rounds, ${mib} MiB per transfer, ${streams} sequential streams`);
  console.table(rows);
  console.log(JSON.stringify({ rounds, mib, streams, results }));
}

const [role, impl, transport, tlsJson, port] = process.argv.slice(2);
if (role === 'server') {
  void runServer(impl as Impl, transport as Transport, jsonArg<Files>(tlsJson));
} else if (role === 'client') {
  void runClient(impl as Impl, transport as Transport, jsonArg<Files>(tlsJson), Number(port));
} else {
  drive().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
