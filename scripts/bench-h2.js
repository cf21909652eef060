#!/usr/bin/env node
/**
 * Micro-benchmark of the two gRPC transports behind the PacketStream interface: grpc-js (what the binaries
 * used before, now a plain grpc-js server) against the node:http2 transport in dist/transport/h2/. Not a test:
 * it prints figures for a person to judge. Run `npm run build` first.
 *
 *   node scripts/bench-h2.js [--rounds 5] [--mib 256] [--streams 1000] [--transports tls,uds] [--impls grpc-js,ours]
 *
 * For each round, transport (TLS on loopback, Unix socket) and implementation, a server process and a
 * client process are started (so each one's CPU is its own) and measured on three phases:
 *   upload    one stream, client -> server, 64 KiB DATA packets (the agent -> server direction)
 *   download  one stream, server -> client, 64 KiB DATA packets
 *   streams   sequential open / DIAL_REQ echo / close of one call (a frontend Proxy stream's life)
 * CPU is process.cpuUsage() (user + system) of each process over the phase. Medians of the rounds are
 * printed at the end.
 */
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');

const ROOT = path.join(__dirname, '..');
const dist = (file) => require(path.join(ROOT, 'dist', file));
const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
const CONNECT_PATH = '/AgentService/Connect';
const PROXY_PATH = '/ProxyService/Proxy';

function listArg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1].split(',') : fallback;
}

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function cpuMs(since) {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

function onCommands(handler) {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim()) void handler(JSON.parse(line));
  });
  rl.on('close', () => process.exit(0));
}

// ------------------------------------------------------------------------------------------ both sides

/** Server behaviour on any PacketStream: Connect counts uploads / floods downloads, Proxy echoes. */
function serveStream(stream, pathName) {
  const { packets } = dist('protocol/packet.js');
  let received = 0;
  const payload = Buffer.alloc(CHUNK, 7);
  const flood = (total) => {
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += CHUNK;
        if (!stream.send(packets.data(1n, payload))) return;
      }
      stream.send(packets.drain());
    };
    return pump;
  };
  let pump;
  stream.attach({
    packet: (p) => {
      if (pathName === PROXY_PATH) {
        stream.send(p);
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

async function startOursServer(transport, tls) {
  const { startH2Server } = dist('transport/h2/h2Server.js');
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

async function startGrpcJsServer(transport, tls) {
  const grpc = require('@grpc/grpc-js');
  const services = dist('transport/grpcServices.js');
  const { GrpcPacketStream } = dist('transport/grpcPacketStream.js');
  const server = new grpc.Server();
  server.addService(services.agentServiceDefinition, {
    Connect: (call) => {
      const md = new grpc.Metadata();
      md.set('serverid', 'bench');
      md.set('servercount', '1');
      call.sendMetadata(md);
      serveStream(new GrpcPacketStream(call, 'bench', 'server'), CONNECT_PATH);
    },
  });
  server.addService(services.proxyServiceDefinition, {
    Proxy: (call) => serveStream(new GrpcPacketStream(call, 'bench', 'server'), PROXY_PATH),
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

async function runServer(impl, transport, tls) {
  const port = await (impl === 'ours' ? startOursServer : startGrpcJsServer)(transport, tls);
  let mark = process.cpuUsage();
  emit({ event: 'ready', port });
  onCommands((cmd) => {
    if (cmd.cmd === 'mark') {
      emit({ event: 'cpu', ms: cpuMs(mark) });
      mark = process.cpuUsage();
    }
  });
}

// -------------------------------------------------------------------------------------------- clients

/** Opens calls as PacketStreams: `open(path)` -> { stream, close() }. */
async function oursOpener(transport, tls, port) {
  const { H2Client } = dist('transport/h2/h2Client.js');
  const client = await H2Client.connect({
    target:
      transport === 'uds' ? { kind: 'uds', path: tls.socket } : { kind: 'tcp', host: '127.0.0.1', port },
    ...(transport === 'tls' ? { tls: { ca: fs.readFileSync(tls.caCert), serverName: 'localhost' } } : {}),
  });
  return (p) => client.openCall(p).stream;
}

async function grpcJsOpener(transport, tls, port) {
  const grpc = require('@grpc/grpc-js');
  const services = dist('transport/grpcServices.js');
  const { GrpcPacketStream } = dist('transport/grpcPacketStream.js');
  const { CLIENT_WINDOW_OPTIONS } = dist('transport/grpcWindows.js');
  const target = transport === 'uds' ? `unix://${tls.socket}` : `localhost:${port}`;
  const creds =
    transport === 'uds'
      ? grpc.credentials.createInsecure()
      : grpc.credentials.createSsl(fs.readFileSync(tls.caCert));
  const client = new grpc.Client(target, creds, { ...CLIENT_WINDOW_OPTIONS });
  return (p) => {
    const call = client.makeBidiStreamRequest(
      p,
      services.serializePacket,
      services.deserializeIncoming,
      new grpc.Metadata(),
      {},
    );
    return new GrpcPacketStream(call, 'bench', 'client');
  };
}

function attachClient(stream, onPacket, onDrain, onEnd) {
  stream.attach({ packet: onPacket, malformed: () => {}, drain: () => onDrain(), end: (e) => onEnd(e) });
}

function upload(open, bytes) {
  const { packets } = dist('protocol/packet.js');
  const payload = Buffer.alloc(CHUNK, 3);
  return new Promise((resolve) => {
    const stream = open(CONNECT_PATH);
    let sent = 0;
    const pump = () => {
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

function download(open, bytes) {
  const { packets } = dist('protocol/packet.js');
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

function oneStream(open, i) {
  const { packets } = dist('protocol/packet.js');
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

async function runClient(impl, transport, tls, port) {
  const open = await (impl === 'ours' ? oursOpener : grpcJsOpener)(transport, tls, port);
  // Warm-up: JIT, TLS session, buffers.
  await upload(open, 16 * MiB);
  await download(open, 16 * MiB);
  for (let i = 0; i < 50; i++) await oneStream(open, i);
  emit({ event: 'ready' });
  onCommands(async (cmd) => {
    const mark = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let count;
    if (cmd.cmd === 'upload') count = await upload(open, cmd.bytes);
    else if (cmd.cmd === 'download') count = await download(open, cmd.bytes);
    else {
      for (let i = 0; i < cmd.streams; i++) await oneStream(open, i);
      count = cmd.streams;
    }
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    emit({ event: 'done', count, wallMs, cpuMs: cpuMs(mark) });
  });
}

// --------------------------------------------------------------------------------------------- driver

function child(args) {
  const proc = spawn(process.execPath, [__filename, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = [];
  const lines = [];
  readline.createInterface({ input: proc.stdout }).on('line', (line) => {
    const msg = JSON.parse(line);
    const w = waiting.shift();
    if (w) w(msg);
    else lines.push(msg);
  });
  return {
    next: () => (lines.length ? Promise.resolve(lines.shift()) : new Promise((r) => waiting.push(r))),
    send: (obj) => proc.stdin.write(`${JSON.stringify(obj)}\n`),
    stop: () => new Promise((r) => (proc.exitCode !== null ? r() : (proc.once('exit', r), proc.stdin.end()))),
  };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function measure(impl, transport, tls, phases) {
  const server = child(['server', impl, transport, JSON.stringify(tls)]);
  const ready = await server.next();
  const client = child(['client', impl, transport, JSON.stringify(tls), String(ready.port)]);
  await client.next();
  const out = {};
  for (const phase of phases) {
    server.send({ cmd: 'mark' });
    await server.next();
    client.send(phase);
    const done = await client.next();
    server.send({ cmd: 'mark' });
    const serverCpu = (await server.next()).ms;
    out[phase.cmd] = { ...done, serverCpuMs: serverCpu };
  }
  await client.stop();
  await server.stop();
  return out;
}

async function drive() {
  const rounds = arg('rounds', 5);
  const bytes = arg('mib', 256) * MiB;
  const streams = arg('streams', 1000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-h2-'));
  const { generateTlsMaterial } = dist('tools/certs.js');
  const files = await generateTlsMaterial(dir);
  const tls = { ...files, socket: path.join(dir, 'grpc.sock') };
  delete tls.pems;
  const phases = [
    { cmd: 'upload', bytes },
    { cmd: 'download', bytes },
    { cmd: 'streams', streams },
  ];
  const results = {};
  try {
    for (let r = 0; r < rounds; r++) {
      for (const transport of listArg('transports', ['tls', 'uds'])) {
        for (const impl of listArg('impls', ['grpc-js', 'ours'])) {
          const m = await measure(impl, transport, tls, phases);
          const key = `${transport} ${impl}`;
          results[key] ??= [];
          results[key].push(m);
          const u = m.upload;
          const d = m.download;
          const s = m.streams;
          console.error(
            `round ${r + 1} ${key}: upload ${((bytes / u.wallMs) * 1e3) / 1e6} MB/s, download ${((bytes / d.wallMs) * 1e3) / 1e6} MB/s, ${((streams / s.wallMs) * 1e3).toFixed(0)} streams/s`,
          );
        }
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const mib = bytes / MiB;
  const rows = [];
  for (const [key, ms] of Object.entries(results)) {
    const med = (f) => median(ms.map(f));
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
  void runServer(impl, transport, JSON.parse(tlsJson));
} else if (role === 'client') {
  void runClient(impl, transport, JSON.parse(tlsJson), Number(port));
} else {
  drive().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
