/**
 * Splits a connection's byte stream into HTTP/2 frames. A frame that lies inside one socket read is
 * handed on as a view of it. An unpadded DATA frame split across reads is handed on piece by piece, each
 * a view of its read: its bytes go on to a gRPC message decoder, which copies a message that spans pieces
 * once anyway, so assembling the frame first would copy every byte twice (a 64 KiB frame arrives in four
 * or five TLS reads). Any other frame split across reads is assembled once into a buffer of its own size.
 */
import { FRAME_HEADER_BYTES, Flags, FrameType } from './frames';

export interface FrameSink {
  /** One whole frame; returns false to stop reading (the connection is done). */
  frame(type: number, flags: number, streamId: number, payload: Buffer): boolean;
  /**
   * Part of an unpadded DATA frame that spans reads: the pieces of one frame come in order and add up to
   * its length; `last` marks the final one (END_STREAM, in `flags`, applies after it). Returns false to
   * stop reading.
   */
  dataPiece(flags: number, streamId: number, piece: Buffer, last: boolean): boolean;
}

export class FrameTooLargeError extends Error {
  override readonly name = 'FrameTooLargeError';
}

export class FrameReader {
  /** A header split across reads is gathered here; made the first time one is (a Buffer is 96 bytes of heap). */
  private header: Buffer | undefined;
  private headerFill = 0;
  /** The frame being assembled across reads, with its header already read. */
  private payload: Buffer | undefined;
  private payloadFill = 0;
  /** Bytes still to come of the DATA frame being handed on in pieces (0: none). */
  private dataLeft = 0;
  private type = 0;
  private flags = 0;
  private streamId = 0;

  /** `maxFrameBytes`: the SETTINGS_MAX_FRAME_SIZE this side announced. */
  constructor(private readonly maxFrameBytes: number) {}

  /** Feeds one read; returns an error when a frame is larger than announced (a connection error). */
  push(chunk: Buffer, sink: FrameSink): FrameTooLargeError | undefined {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.dataLeft > 0) {
        const take = Math.min(end - pos, this.dataLeft);
        this.dataLeft -= take;
        const piece = chunk.subarray(pos, pos + take);
        pos += take;
        if (!sink.dataPiece(this.flags, this.streamId, piece, this.dataLeft === 0)) return undefined;
        continue;
      }
      if (this.payload !== undefined) {
        const take = Math.min(end - pos, this.payload.length - this.payloadFill);
        chunk.copy(this.payload, this.payloadFill, pos, pos + take);
        this.payloadFill += take;
        pos += take;
        if (this.payloadFill < this.payload.length) return undefined;
        const payload = this.payload;
        this.payload = undefined;
        if (!sink.frame(this.type, this.flags, this.streamId, payload)) return undefined;
        continue;
      }
      let length: number;
      if (this.headerFill === 0 && end - pos >= FRAME_HEADER_BYTES) {
        length = (chunk[pos]! << 16) | (chunk[pos + 1]! << 8) | chunk[pos + 2]!;
        this.type = chunk[pos + 3]!;
        this.flags = chunk[pos + 4]!;
        this.streamId = chunk.readUInt32BE(pos + 5) & 0x7fffffff;
        pos += FRAME_HEADER_BYTES;
      } else {
        const take = Math.min(end - pos, FRAME_HEADER_BYTES - this.headerFill);
        const h = (this.header ??= Buffer.allocUnsafe(FRAME_HEADER_BYTES));
        chunk.copy(h, this.headerFill, pos, pos + take);
        this.headerFill += take;
        pos += take;
        if (this.headerFill < FRAME_HEADER_BYTES) return undefined;
        this.headerFill = 0;
        length = (h[0]! << 16) | (h[1]! << 8) | h[2]!;
        this.type = h[3]!;
        this.flags = h[4]!;
        this.streamId = h.readUInt32BE(5) & 0x7fffffff;
      }
      if (length > this.maxFrameBytes) {
        return new FrameTooLargeError(
          `a frame of ${length} bytes exceeds the announced ${this.maxFrameBytes}`,
        );
      }
      if (end - pos >= length) {
        const payload = chunk.subarray(pos, pos + length);
        pos += length;
        if (!sink.frame(this.type, this.flags, this.streamId, payload)) return undefined;
      } else if (this.type === FrameType.DATA && (this.flags & Flags.PADDED) === 0) {
        this.dataLeft = length;
        if (pos < end) {
          const piece = chunk.subarray(pos);
          this.dataLeft -= piece.length;
          pos = end;
          if (!sink.dataPiece(this.flags, this.streamId, piece, false)) return undefined;
        }
      } else {
        this.payload = Buffer.allocUnsafe(length);
        this.payloadFill = 0;
      }
    }
    return undefined;
  }
}
