/**
 * Talking over any byte Duplex (a TCP socket, an HTTP-CONNECT socket, a gRPC TunnelConnection) with
 * deadlines. Reads use paused mode ('readable' + read()) and unshift what they do not need, so consecutive
 * helpers on one stream never lose a byte.
 */
import * as net from 'net';
import type { Duplex, Readable, Writable } from 'stream';
import { patternBytes } from './pattern';

/** Default deadline for one exchange; generous because CI machines run several e2e suites at once. */
const DEFAULT_TIMEOUT_MS = 10_000;

export class StreamTimeoutError extends Error {
  override readonly name = 'StreamTimeoutError';
  constructor(
    message: string,
    /** What had arrived when time ran out. */
    readonly received: Buffer,
  ) {
    super(message);
  }
}

export class StreamEndedError extends Error {
  override readonly name = 'StreamEndedError';
  constructor(
    message: string,
    readonly received: Buffer,
  ) {
    super(message);
  }
}

export function connectTcp(
  port: number,
  host = '127.0.0.1',
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect ${host}:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (err: Error): void => {
      clearTimeout(timer);
      reject(err);
    };
    socket.once('error', onError);
  });
}

/** Writes `data` and resolves once the stream has taken it (its write callback), honouring backpressure. */
export function writeAll(stream: Writable, data: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(data, (err) => (err ? reject(err) : resolve()));
  });
}

interface CollectOptions {
  readonly timeoutMs: number;
  readonly what: string;
  /**
   * Given the newest chunk and how many bytes came before it, the total number of bytes that complete the
   * read, or -1 when more are needed. Sees one chunk at a time so a long read stays linear.
   */
  readonly complete: (chunk: Buffer, before: number) => number;
  /** Whether the stream ending is the success condition (read to end) or a failure. */
  readonly endIsSuccess: boolean;
}

function collect(stream: Readable, options: CollectOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const received = (): Buffer => Buffer.concat(chunks, size);
    const timer = setTimeout(
      () =>
        finish(
          new StreamTimeoutError(
            `timed out after ${options.timeoutMs} ms ${options.what}; got ${size} bytes`,
            received(),
          ),
        ),
      options.timeoutMs,
    );
    const finish = (error?: Error, result?: Buffer): void => {
      clearTimeout(timer);
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('close', onClose);
      stream.off('error', onError);
      if (error) reject(error);
      else resolve(result ?? received());
    };
    const onReadable = (): void => {
      let chunk: Buffer | string | null;
      while ((chunk = stream.read() as Buffer | string | null) !== null) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        let take: number;
        try {
          take = options.complete(buf, size);
        } catch (err) {
          finish(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        chunks.push(buf);
        size += buf.length;
        if (take >= 0) {
          const all = received();
          if (take < all.length) stream.unshift(all.subarray(take));
          finish(undefined, all.subarray(0, take));
          return;
        }
      }
    };
    const onEnd = (): void => {
      if (options.endIsSuccess) finish();
      else finish(new StreamEndedError(`stream ended after ${size} bytes ${options.what}`, received()));
    };
    // A destroyed stream may close without 'end'.
    const onClose = (): void => {
      if (options.endIsSuccess && stream.readableEnded) finish();
      else finish(new StreamEndedError(`stream closed after ${size} bytes ${options.what}`, received()));
    };
    const onError = (err: Error): void => finish(err);

    if (stream.readableEnded) {
      onEnd();
      return;
    }
    stream.on('readable', onReadable);
    stream.on('end', onEnd);
    stream.on('close', onClose);
    stream.on('error', onError);
  });
}

/** Reads exactly `length` bytes; anything beyond stays in the stream. Fails if the stream ends first. */
export function readExactly(
  stream: Readable,
  length: number,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<Buffer> {
  if (length === 0) return Promise.resolve(Buffer.alloc(0));
  return collect(stream, {
    timeoutMs,
    what: `waiting for ${length} bytes`,
    complete: (chunk, before) => (before + chunk.length >= length ? length : -1),
    endIsSuccess: false,
  });
}

/** Reads one `\n`-terminated line (returned without the newline); the rest stays in the stream. */
export async function readLine(stream: Readable, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
  const line = await collect(stream, {
    timeoutMs,
    what: 'waiting for a line',
    complete: (chunk, before) => {
      const at = chunk.indexOf(0x0a);
      return at < 0 ? -1 : before + at + 1;
    },
    endIsSuccess: false,
  });
  return line.toString('utf8').replace(/\r?\n$/, '');
}

/** Reads until the stream ends; fails past `maxBytes` so a runaway sender cannot exhaust memory. */
export function readUntilEnd(
  stream: Readable,
  {
    timeoutMs = DEFAULT_TIMEOUT_MS,
    maxBytes = 1024 * 1024 * 1024,
  }: { timeoutMs?: number; maxBytes?: number } = {},
): Promise<Buffer> {
  return collect(stream, {
    timeoutMs,
    what: 'waiting for the end of the stream',
    complete: (chunk, before) => {
      if (before + chunk.length > maxBytes) throw new Error(`more than ${maxBytes} bytes before the end`);
      return -1;
    },
    endIsSuccess: true,
  });
}

/** Writes `data` and reads `expectedLength` bytes back (default: as many as were sent, for an echo). */
export async function sendAndReceive(
  stream: Duplex,
  data: Buffer,
  expectedLength = data.length,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<Buffer> {
  // Read concurrently: an echo of a large buffer only completes if we drain while writing.
  const reading = readExactly(stream, expectedLength, timeoutMs);
  const writing = writeAll(stream, data);
  const [response] = await Promise.all([reading, writing]);
  return response;
}

/** Asks a download target for `length` bytes and returns them (the target closes when done). */
export async function download(
  stream: Duplex,
  length: number,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<Buffer> {
  const reading = readUntilEnd(stream, { timeoutMs, maxBytes: length + 1024 });
  // Marks the rejection handled while we write; the caller still receives it below.
  reading.catch(() => undefined);
  await writeAll(stream, `GET ${length}\n`);
  return reading;
}

/** Sends `length` pattern bytes to a sink target and returns its verdict line (`OK <n>` or `BAD <i>`). */
export async function upload(
  stream: Duplex,
  length: number,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<string> {
  const verdict = readLine(stream, timeoutMs);
  // Marks the rejection handled while we write; the caller still receives it below.
  verdict.catch(() => undefined);
  await writeAll(stream, `PUT ${length}\n`);
  const CHUNK = 256 * 1024;
  for (let offset = 0; offset < length; offset += CHUNK) {
    await writeAll(stream, patternBytes(offset, Math.min(CHUNK, length - offset)));
  }
  return verdict;
}

/** Resolves when the stream has emitted 'close' (now or earlier); rejects after `timeoutMs`. */
export function waitForClose(stream: Readable | Writable, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.off('close', onClose);
      reject(new Error(`stream did not close within ${timeoutMs} ms`));
    }, timeoutMs);
    const onClose = (): void => {
      clearTimeout(timer);
      resolve();
    };
    stream.once('close', onClose);
  });
}
