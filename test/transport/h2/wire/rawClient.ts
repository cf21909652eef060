/**
 * A hand-driven HTTP/2 client for protocol tests of our own server (src/transport/h2/wire): it writes
 * frames byte by byte as a test asks, records every frame the server sends (header blocks decoded with
 * HpackDecoder, CONTINUATIONs joined), and by default acknowledges the server's SETTINGS and PINGs.
 */
import * as net from 'net';
import { decodePacket } from '../../../../src/protocol/codec';
import type { DecodedPacket, Packet } from '../../../../src/protocol/packet';
import { framePacket } from '../../../../src/transport/h2/grpcFraming';
import { HpackDecoder } from '../../../../src/transport/h2/hpack/hpackDecoder';
import { encodeHeaderBlock } from '../../../../src/transport/h2/hpack/hpackEncoder';
import {
  CLIENT_PREFACE,
  Flags,
  FrameType,
  frameHeader,
  FRAME_HEADER_BYTES,
} from '../../../../src/transport/h2/wire/frames';
import { waitFor } from '../../../helpers/waitFor';

export { Flags, FrameType, H2Code, Setting } from '../../../../src/transport/h2/wire/frames';

export interface RawFrame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
  /** On a HEADERS frame, once its block (and any CONTINUATION) is complete: the decoded list. */
  headers?: string[];
}

export interface RawClientOptions {
  readonly port: number;
  readonly host?: string;
  /** What the connection starts with; default: the client preface and a SETTINGS frame of `settings`. */
  readonly start?: Buffer;
  /** Our SETTINGS entries (with the default start). */
  readonly settings?: ReadonlyArray<readonly [number, number]>;
  /** Acknowledge the server's SETTINGS (default true). */
  readonly ackSettings?: boolean;
  /** Answer the server's PINGs (default true). */
  readonly answerPings?: boolean;
}

/** The request headers of a gRPC call, as grpc clients send them. */
export function requestHeaders(path = '/x', extra: readonly string[] = []): string[] {
  return [
    ':method',
    'POST',
    ':scheme',
    'http',
    ':path',
    path,
    ':authority',
    'localhost',
    'content-type',
    'application/grpc',
    'te',
    'trailers',
    ...extra,
  ];
}

/** One frame as bytes. */
export function rawFrame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  return Buffer.concat([frameHeader(payload.length, type, flags, streamId), payload]);
}

export function settingsPayload(settings: ReadonlyArray<readonly [number, number]>): Buffer {
  const payload = Buffer.alloc(settings.length * 6);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return payload;
}

/** A SETTINGS frame's entries, in order. */
export function settingsOf(frame: RawFrame): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let at = 0; at + 6 <= frame.payload.length; at += 6) {
    out.push([frame.payload.readUInt16BE(at), frame.payload.readUInt32BE(at + 2)]);
  }
  return out;
}

export function goawayOf(frame: RawFrame): { lastStreamId: number; code: number; debug: string } {
  return {
    lastStreamId: frame.payload.readUInt32BE(0) & 0x7fffffff,
    code: frame.payload.readUInt32BE(4),
    debug: frame.payload.subarray(8).toString('utf8'),
  };
}

export function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

/** One gRPC message (5-byte prefix) carrying `packet`, as one buffer. */
export function grpcMessage(packet: Packet): Buffer {
  return Buffer.concat(framePacket(packet));
}

/** The value of the first header `name` in a flat list. */
export function headerValue(headers: readonly string[] | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  for (let i = 0; i + 1 < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
}

export class RawClient {
  readonly frames: RawFrame[] = [];
  /** The server ended its side (FIN) or the socket closed. */
  ended = false;
  closed = false;
  readonly errors: Error[] = [];
  private readonly hpack = new HpackDecoder(4096, 1 << 24);
  private readonly dataBytesByStream = new Map<number, number>();
  private readonly dataByStream = new Map<number, Buffer[]>();
  private pending = Buffer.alloc(0);
  private block: { first: RawFrame; parts: Buffer[] } | undefined;
  /** Keep DATA payloads (for `messages`); off for bulk transfers that only count bytes. */
  keepData = true;

  private constructor(
    readonly socket: net.Socket,
    private readonly options: RawClientOptions,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      this.ended = true;
    });
    socket.on('close', () => {
      this.ended = true;
      this.closed = true;
    });
    socket.on('error', (err) => this.errors.push(err));
  }

  static async connect(options: RawClientOptions): Promise<RawClient> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ port: options.port, host: options.host ?? '127.0.0.1' });
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
    socket.setNoDelay(true);
    const client = new RawClient(socket, options);
    client.write(
      options.start ??
        Buffer.concat([
          CLIENT_PREFACE,
          rawFrame(FrameType.SETTINGS, 0, 0, settingsPayload(options.settings ?? [])),
        ]),
    );
    return client;
  }

  // ------------------------------------------------------------------ writing

  write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Writes `bytes` and resolves once the socket took them (for bulk writes honouring backpressure). */
  writeAndWait(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed) {
        reject(new Error('socket destroyed'));
        return;
      }
      this.socket.write(bytes, (err) => (err ? reject(err) : resolve()));
    });
  }

  send(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): void {
    this.write(rawFrame(type, flags, streamId, payload));
  }

  /** HEADERS with END_HEADERS (and END_STREAM when asked) carrying `headers`. */
  headers(streamId: number, headers: readonly string[], endStream = false): void {
    const flags = Flags.END_HEADERS | (endStream ? Flags.END_STREAM : 0);
    this.send(FrameType.HEADERS, flags, streamId, encodeHeaderBlock(headers));
  }

  request(streamId: number, path = '/x', extra: readonly string[] = [], endStream = false): void {
    this.headers(streamId, requestHeaders(path, extra), endStream);
  }

  data(streamId: number, payload: Buffer, endStream = false): void {
    this.send(FrameType.DATA, endStream ? Flags.END_STREAM : 0, streamId, payload);
  }

  /** One DATA frame carrying `packet` as one gRPC message. */
  message(streamId: number, packet: Packet, endStream = false): void {
    this.data(streamId, grpcMessage(packet), endStream);
  }

  windowUpdate(streamId: number, increment: number): void {
    this.send(FrameType.WINDOW_UPDATE, 0, streamId, u32(increment));
  }

  rst(streamId: number, code: number): void {
    this.send(FrameType.RST_STREAM, 0, streamId, u32(code));
  }

  ping(opaque: Buffer, ack = false): void {
    this.send(FrameType.PING, ack ? Flags.ACK : 0, 0, opaque);
  }

  goaway(lastStreamId: number, code: number): void {
    this.send(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(lastStreamId), u32(code)]));
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  // ------------------------------------------------------------------ reading

  private onData(chunk: Buffer): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buf.length >= FRAME_HEADER_BYTES) {
      const length = (buf[0]! << 16) | (buf[1]! << 8) | buf[2]!;
      if (buf.length < FRAME_HEADER_BYTES + length) break;
      const frame: RawFrame = {
        type: buf[3]!,
        flags: buf[4]!,
        streamId: buf.readUInt32BE(5) & 0x7fffffff,
        payload: buf.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length),
      };
      buf = buf.subarray(FRAME_HEADER_BYTES + length);
      this.onFrame(frame);
    }
    this.pending = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0);
  }

  private onFrame(frame: RawFrame): void {
    if (frame.type === FrameType.DATA) {
      const id = frame.streamId;
      this.dataBytesByStream.set(id, (this.dataBytesByStream.get(id) ?? 0) + frame.payload.length);
      if (this.keepData) {
        const list = this.dataByStream.get(id) ?? [];
        list.push(frame.payload);
        this.dataByStream.set(id, list);
      }
      // A bulk transfer stores no payload: a frame a test waits on is its header, not its bytes.
      this.frames.push(this.keepData ? frame : { ...frame, payload: Buffer.alloc(0) });
      return;
    }
    this.frames.push(frame);
    if (frame.type === FrameType.HEADERS) {
      let block = frame.payload;
      if ((frame.flags & Flags.PADDED) !== 0) block = block.subarray(1, block.length - block[0]!);
      if ((frame.flags & Flags.PRIORITY) !== 0) block = block.subarray(5);
      this.block = { first: frame, parts: [block] };
    } else if (frame.type === FrameType.CONTINUATION && this.block !== undefined) {
      this.block.parts.push(frame.payload);
    }
    if (
      (frame.type === FrameType.HEADERS || frame.type === FrameType.CONTINUATION) &&
      (frame.flags & Flags.END_HEADERS) !== 0 &&
      this.block !== undefined
    ) {
      this.block.first.headers = this.hpack.decode(Buffer.concat(this.block.parts));
      this.block = undefined;
    }
    if (
      frame.type === FrameType.SETTINGS &&
      (frame.flags & Flags.ACK) === 0 &&
      this.options.ackSettings !== false
    ) {
      this.send(FrameType.SETTINGS, Flags.ACK, 0);
    }
    if (
      frame.type === FrameType.PING &&
      (frame.flags & Flags.ACK) === 0 &&
      this.options.answerPings !== false
    ) {
      this.ping(frame.payload, true);
    }
  }

  /** DATA payload bytes received on the stream. */
  dataBytes(streamId: number): number {
    return this.dataBytesByStream.get(streamId) ?? 0;
  }

  /** The gRPC messages received on the stream, decoded as packets (whole messages only). */
  packets(streamId: number): DecodedPacket[] {
    const bytes = Buffer.concat(this.dataByStream.get(streamId) ?? []);
    const out: DecodedPacket[] = [];
    let at = 0;
    while (at + 5 <= bytes.length) {
      const length = bytes.readUInt32BE(at + 1);
      if (at + 5 + length > bytes.length) break;
      out.push(decodePacket(bytes.subarray(at + 5, at + 5 + length)));
      at += 5 + length;
    }
    return out;
  }

  /** The first frame from index `since` on that matches, once it has arrived. */
  waitFrame(
    match: (f: RawFrame) => boolean,
    description: string,
    { since = 0, timeoutMs = 5_000 }: { since?: number; timeoutMs?: number } = {},
  ): Promise<RawFrame> {
    return waitFor(
      () => {
        for (let i = since; i < this.frames.length; i++) if (match(this.frames[i]!)) return this.frames[i]!;
        return undefined;
      },
      { description, timeoutMs },
    );
  }

  /** The frames from index `since` on of a type (optionally of a stream). */
  framesOf(type: number, streamId?: number, since = 0): RawFrame[] {
    return this.frames
      .slice(since)
      .filter((f) => f.type === type && (streamId === undefined || f.streamId === streamId));
  }

  /** Waits for the server's GOAWAY and the end of the connection; returns the GOAWAY. */
  async goawayAndEnd(timeoutMs = 5_000): Promise<{ lastStreamId: number; code: number; debug: string }> {
    const frame = await this.waitFrame((f) => f.type === FrameType.GOAWAY, 'GOAWAY', { timeoutMs });
    await waitFor(() => this.ended, { description: 'the server to end the connection', timeoutMs });
    return goawayOf(frame);
  }

  private syncSeq = 0;

  /**
   * A PING and its ACK: the server answers frames in the order it reads them, so every frame it wrote
   * because of what we sent before the PING has arrived once the ACK has.
   */
  async sync(): Promise<void> {
    const opaque = Buffer.from('sync\0\0\0\0', 'latin1');
    opaque.writeUInt32BE(++this.syncSeq, 4);
    const since = this.frames.length;
    this.ping(opaque);
    await this.waitFrame(
      (f) => f.type === FrameType.PING && (f.flags & Flags.ACK) !== 0 && f.payload.equals(opaque),
      'the ACK of our PING',
      { since },
    );
  }

  /** Waits for the server's SETTINGS ACK (our SETTINGS were read): the handshake is done. */
  handshake(): Promise<RawFrame> {
    return this.waitFrame(
      (f) => f.type === FrameType.SETTINGS && (f.flags & Flags.ACK) !== 0,
      'the SETTINGS ACK',
    );
  }
}
