/**
 * Real TCP endpoints for tunnels to reach, all on 127.0.0.1 port 0. Each counts what it accepted and
 * received so tests can assert on the far side, and `close()` destroys every socket it still holds so a
 * test never leaves one behind.
 *
 * Line protocols (one request line per connection, then bytes):
 * - download: `GET <n>\n` -> n bytes of patternBytes(0, n), then the server closes.
 * - sink:     `PUT <n>\n` + n bytes -> `OK <n>\n` if they were patternBytes(0, n), else `BAD <index>\n`;
 *             then the server closes.
 */
import * as net from 'net';
import { firstPatternMismatch, patternBytes } from './pattern';

/** Accept-queue size the test targets ask for (the kernel caps it at net.core.somaxconn). */
const TARGET_BACKLOG = 4096;

export { firstPatternMismatch, patternBytes, verifyPattern } from './pattern';

export const TARGET_HOST = '127.0.0.1';
/** Download chunks: large enough for throughput, small enough that backpressure bites promptly. */
const DOWNLOAD_CHUNK = 64 * 1024;
/** A request line longer than this is not one of ours. */
const MAX_REQUEST_LINE = 1024;

export interface TargetServer {
  readonly name: string;
  readonly port: number;
  /** `127.0.0.1:<port>`, the form a DIAL_REQ or CONNECT carries. */
  readonly address: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections currently open. */
  readonly open: number;
  /** Payload bytes received over all connections (request lines excluded). */
  readonly bytesReceived: number;
  /** Stops listening and destroys every open socket. Safe to call more than once. */
  close(): Promise<void>;
}

class Target implements TargetServer {
  accepted = 0;
  bytesReceived = 0;
  private readonly sockets = new Set<net.Socket>();
  private closing: Promise<void> | undefined;

  private constructor(
    readonly name: string,
    private readonly server: net.Server,
  ) {}

  static async start(name: string, handle: (socket: net.Socket, target: Target) => void): Promise<Target> {
    const server = net.createServer();
    const target = new Target(name, server);
    server.on('connection', (socket) => {
      target.accepted++;
      target.sockets.add(socket);
      socket.on('close', () => target.sockets.delete(socket));
      // A peer resetting is normal in tunnel tests (destroy, abort); it must not crash the test process.
      socket.on('error', () => undefined);
      handle(socket, target);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // A deep accept queue, as real endpoints have (Go listens with net.core.somaxconn; Node's default
      // is 511): a burst of connects from the agent must not overflow the target instead of the tunnel.
      server.listen({ port: 0, host: TARGET_HOST, backlog: TARGET_BACKLOG }, () => resolve());
    });
    return target;
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error(`${this.name} is not listening`);
    return address.port;
  }

  get address(): string {
    return `${TARGET_HOST}:${this.port}`;
  }

  get open(): number {
    return this.sockets.size;
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
    return this.closing;
  }
}

/** Calls `onLine` with the first line a client sends and whatever bytes followed it. */
function readRequestLine(socket: net.Socket, onLine: (line: string, rest: Buffer) => void): void {
  let buffered = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    const newline = buffered.indexOf(0x0a);
    if (newline < 0) {
      if (buffered.length > MAX_REQUEST_LINE) socket.destroy();
      return;
    }
    socket.off('data', onData);
    onLine(buffered.toString('latin1', 0, newline).trim(), buffered.subarray(newline + 1));
  };
  socket.on('data', onData);
}

/** Echoes every byte back, honouring backpressure; ends when the client ends. */
export function startEchoServer(): Promise<TargetServer> {
  return Target.start('echo', (socket, target) => {
    socket.on('data', (chunk: Buffer) => (target.bytesReceived += chunk.length));
    socket.pipe(socket);
  });
}

async function sendPattern(socket: net.Socket, total: number): Promise<void> {
  for (let sent = 0; sent < total && !socket.destroyed; sent += DOWNLOAD_CHUNK) {
    const chunk = patternBytes(sent, Math.min(DOWNLOAD_CHUNK, total - sent));
    if (!socket.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  }
  socket.end();
}

/** `GET <n>\n` -> n pattern bytes, then close. */
export function startDownloadServer(): Promise<TargetServer> {
  return Target.start('download', (socket) => {
    readRequestLine(socket, (line) => {
      const match = /^GET (\d+)$/.exec(line);
      if (!match) {
        socket.end(`ERR bad request ${JSON.stringify(line)}\n`);
        return;
      }
      // Keep reading (and discarding) so a client that writes more does not stall on our side.
      socket.resume();
      void sendPattern(socket, Number(match[1]));
    });
  });
}

/** `PUT <n>\n` + n bytes -> `OK <n>\n` or `BAD <first mismatching index>\n`, then close. */
export function startSinkServer(): Promise<TargetServer> {
  return Target.start('sink', (socket, target) => {
    readRequestLine(socket, (line, rest) => {
      const match = /^PUT (\d+)$/.exec(line);
      if (!match) {
        socket.end(`ERR bad request ${JSON.stringify(line)}\n`);
        return;
      }
      const expected = Number(match[1]);
      let received = 0;
      let mismatch = -1;
      const consume = (chunk: Buffer): void => {
        const take = chunk.subarray(0, expected - received);
        target.bytesReceived += take.length;
        if (mismatch < 0) {
          const at = firstPatternMismatch(take, received);
          if (at >= 0) mismatch = received + at;
        }
        received += take.length;
        if (received >= expected) {
          socket.off('data', consume);
          socket.end(mismatch < 0 ? `OK ${received}\n` : `BAD ${mismatch}\n`);
        }
      };
      socket.on('data', consume);
      consume(rest);
    });
  });
}

/** Accepts and never reads: the client's writes fill the socket buffers and then stall. */
export function startStallServer(): Promise<TargetServer> {
  return Target.start('stall', (socket) => socket.pause());
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released): dialing it is refused. */
export async function refusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, TARGET_HOST, () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}
