/**
 * Just enough HTTP/1.x response parsing for a CONNECT client: find the end of the head without consuming a
 * byte beyond it, parse status line and headers, and read an error body framed by Content-Length, chunked
 * encoding, or the connection closing.
 */

/** What kube-apiserver expects, byte for byte, and what the reference proxy-server writes. */
export const CONNECT_ESTABLISHED_HEAD = 'HTTP/1.1 200 Connection Established\r\n\r\n';
/** A proxy whose head is longer than this is not answering CONNECT; stop reading instead of buffering. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Error bodies are short texts; cap them so a misbehaving proxy cannot make us buffer without end. */
export const MAX_BODY_BYTES = 1024 * 1024;

const HEAD_END = Buffer.from('\r\n\r\n');

export class HttpParseError extends Error {
  override readonly name = 'HttpParseError';
}

export interface ResponseHead {
  readonly status: number;
  readonly statusText: string;
  /** Lower-cased names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /** The head exactly as received, including the final blank line. */
  readonly raw: Buffer;
}

/** Length of the head (up to and including the blank line) in `buf`, or -1 while it is incomplete. */
export function headLength(buf: Buffer): number {
  const at = buf.indexOf(HEAD_END);
  return at < 0 ? -1 : at + HEAD_END.length;
}

export function parseResponseHead(raw: Buffer): ResponseHead {
  const lines = raw.toString('latin1').slice(0, -HEAD_END.length).split('\r\n');
  const statusLine = lines[0] ?? '';
  const match = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!match) throw new HttpParseError(`not an HTTP/1.x status line: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HttpParseError(`malformed header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { status: Number(match[1]), statusText: match[2] ?? '', headers, raw };
}

/** Accumulates a response body; `done` once its framing says it is complete. */
export interface BodyReader {
  /** Feeds bytes; bytes beyond the end of the body are ignored. */
  push(chunk: Buffer): void;
  /** The framing says the body is complete (a zero Content-Length is complete before any byte). */
  readonly done: boolean;
  /** The body so far, decoded; call at completion or when the connection ended. */
  text(): string;
}

export function bodyReaderFor(head: ResponseHead): BodyReader {
  if (/\bchunked\b/i.test(head.headers['transfer-encoding'] ?? '')) return new ChunkedBodyReader();
  const length = head.headers['content-length'];
  if (length !== undefined && /^\d+$/.test(length)) return new LengthBodyReader(Number(length));
  return new LengthBodyReader(Infinity);
}

class LengthBodyReader implements BodyReader {
  private readonly chunks: Buffer[] = [];
  private received = 0;
  private readonly limit: number;

  constructor(length: number) {
    this.limit = Math.min(length, MAX_BODY_BYTES);
  }

  get done(): boolean {
    return this.received >= this.limit;
  }

  push(chunk: Buffer): void {
    const take = chunk.subarray(0, this.limit - this.received);
    this.chunks.push(take);
    this.received += take.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

class ChunkedBodyReader implements BodyReader {
  private pending: Buffer = Buffer.alloc(0);
  private readonly body: Buffer[] = [];
  private size = 0;
  private complete = false;

  get done(): boolean {
    return this.complete;
  }

  push(chunk: Buffer): void {
    if (this.complete) return;
    this.pending = Buffer.concat([this.pending, chunk]);
    for (;;) {
      const lineEnd = this.pending.indexOf('\r\n');
      if (lineEnd < 0) return;
      const chunkSize = parseInt(this.pending.toString('latin1', 0, lineEnd).split(';')[0] ?? '', 16);
      if (Number.isNaN(chunkSize)) throw new HttpParseError('malformed chunk size in error body');
      if (chunkSize === 0) {
        // Trailers are of no interest; the body is complete at the last-chunk line.
        this.complete = true;
        return;
      }
      const dataStart = lineEnd + 2;
      if (this.pending.length < dataStart + chunkSize + 2) return;
      this.body.push(this.pending.subarray(dataStart, dataStart + chunkSize));
      this.size += chunkSize;
      this.pending = this.pending.subarray(dataStart + chunkSize + 2);
      if (this.size >= MAX_BODY_BYTES) {
        this.complete = true;
        return;
      }
    }
  }

  text(): string {
    return Buffer.concat(this.body).toString('utf8');
  }
}
