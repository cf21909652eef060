/**
 * The benchmark's target TCP server (the "kubelet" behind the agent), in its own process.
 *
 * Each `{"cmd":"listen"}` on stdin opens a fresh set of three listeners on 127.0.0.1 and answers with their
 * ports (a fresh set per scenario keeps TIME_WAIT entries of one scenario from exhausting the ephemeral
 * ports of the next):
 * - echo:   writes back whatever it reads.
 * - sink:   reads an 8-byte big-endian byte count N, then N bytes, writing one progress byte back per MiB
 *           received (the uploader learns how much has actually arrived, not just how much it wrote).
 * - source: reads an 8-byte count N and writes N bytes then ends; N = 0 means "until the peer goes away".
 * `{"cmd":"stats"}` answers with the number of open sockets. The process exits when stdin closes.
 */
import * as net from 'net';
import { MiB, emit, onStdinCommands } from './common';

const SOURCE_CHUNK = Buffer.alloc(256 * 1024, 'konnectivity-bench-');
const PROGRESS = Buffer.from([1]);
/** Bursts of 10,000 dials arrive at once: a short backlog would turn them into SYN retries. */
const BACKLOG = 4096;

let openSockets = 0;

function track(socket: net.Socket): void {
  openSockets++;
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  socket.on('close', () => openSockets--);
}

/** Collects the 8-byte count header, then hands the rest of the stream to `onBody(count, firstChunk)`. */
function withHeader(socket: net.Socket, onBody: (count: number, first: Buffer) => void): void {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    if (head.length < 8) return;
    socket.off('data', onData);
    onBody(Number(head.readBigUInt64BE(0)), head.subarray(8));
  };
  socket.on('data', onData);
}

function echo(socket: net.Socket): void {
  track(socket);
  socket.pipe(socket);
}

function sink(socket: net.Socket): void {
  track(socket);
  withHeader(socket, (count, first) => {
    let received = 0;
    let reported = 0;
    const onChunk = (chunk: Buffer): void => {
      received += chunk.length;
      const mib = Math.floor(Math.min(received, count) / MiB);
      while (reported < mib) {
        socket.write(PROGRESS);
        reported++;
      }
    };
    if (first.length) onChunk(first);
    socket.on('data', onChunk);
  });
}

function source(socket: net.Socket): void {
  track(socket);
  withHeader(socket, (count) => {
    let left = count === 0 ? Infinity : count;
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.on('data', () => undefined); // anything after the header is ignored
    const pump = (): void => {
      while (!closed && left > 0) {
        const n = Math.min(left, SOURCE_CHUNK.length);
        left -= n;
        const ok = socket.write(n === SOURCE_CHUNK.length ? SOURCE_CHUNK : SOURCE_CHUNK.subarray(0, n));
        if (left === 0) {
          socket.end();
          return;
        }
        if (!ok) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

function listen(handler: (s: net.Socket) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ noDelay: true }, handler);
    server.on('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, backlog: BACKLOG }, () =>
      resolve((server.address() as net.AddressInfo).port),
    );
  });
}

onStdinCommands((cmd) => {
  if (cmd.cmd === 'listen') {
    Promise.all([listen(echo), listen(sink), listen(source)]).then(
      ([e, s, src]) => emit({ id: cmd.id, ports: { echo: e, sink: s, source: src } }),
      (err: unknown) => emit({ id: cmd.id, error: String(err) }),
    );
  } else if (cmd.cmd === 'stats') {
    emit({ id: cmd.id, openSockets });
  }
});
emit({ event: 'ready', pid: process.pid });
