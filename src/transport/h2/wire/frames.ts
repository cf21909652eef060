/**
 * HTTP/2 frames (RFC 9113 section 4 and 6) as our own server writes and reads them: the 9-byte header,
 * the frame types, flags, settings and error codes, and writers for the frames a server sends. A frame is
 * written as a header buffer plus its payload buffers, so payloads are never copied into a frame.
 */

export const FRAME_HEADER_BYTES = 9;

/** The 24 bytes every client connection starts with. */
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flags = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** HTTP/2 error codes (RST_STREAM, GOAWAY). */
export const H2Code = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

export type H2CodeValue = (typeof H2Code)[keyof typeof H2Code];

/** HTTP/2's initial window and smallest maximum frame size, before any SETTINGS. */
export const DEFAULT_WINDOW_BYTES = 65_535;
export const DEFAULT_MAX_FRAME_BYTES = 16_384;
export const MAX_ALLOWED_FRAME_BYTES = 16_777_215;
export const MAX_WINDOW_BYTES = 2 ** 31 - 1;

export function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header[0] = (length >>> 16) & 0xff;
  header[1] = (length >>> 8) & 0xff;
  header[2] = length & 0xff;
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return header;
}

/** A SETTINGS frame with the given [identifier, value] pairs. */
export function settingsFrame(settings: ReadonlyArray<readonly [number, number]>): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + settings.length * 6);
  frameHeader(settings.length * 6, FrameType.SETTINGS, 0, 0).copy(frame, 0);
  let at = FRAME_HEADER_BYTES;
  for (const [id, value] of settings) {
    frame.writeUInt16BE(id, at);
    frame.writeUInt32BE(value, at + 2);
    at += 6;
  }
  return frame;
}

export const SETTINGS_ACK = frameHeader(0, FrameType.SETTINGS, Flags.ACK, 0);

/** A frame whose payload is one 32-bit value (WINDOW_UPDATE, RST_STREAM). */
function uint32Frame(type: number, streamId: number, value: number): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  frame[0] = 0;
  frame[1] = 0;
  frame[2] = 4;
  frame[3] = type;
  frame[4] = 0;
  frame.writeUInt32BE(streamId, 5);
  frame.writeUInt32BE(value, 9);
  return frame;
}

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  return uint32Frame(FrameType.WINDOW_UPDATE, streamId, increment);
}

export function rstStreamFrame(streamId: number, code: number): Buffer {
  return uint32Frame(FrameType.RST_STREAM, streamId, code);
}

/** A PING (or its ACK) carrying the 8 opaque bytes of `data`, from `data[at]`. */
export function pingFrame(data: Buffer, at: number, ack: boolean): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 8);
  frame[0] = 0;
  frame[1] = 0;
  frame[2] = 8;
  frame[3] = FrameType.PING;
  frame[4] = ack ? Flags.ACK : 0;
  frame.writeUInt32BE(0, 5);
  data.copy(frame, FRAME_HEADER_BYTES, at, at + 8);
  return frame;
}

export function goawayFrame(lastStreamId: number, code: number, debug = ''): Buffer {
  const text = Buffer.from(debug, 'utf8');
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 8 + text.length);
  frameHeader(8 + text.length, FrameType.GOAWAY, 0, 0).copy(frame, 0);
  frame.writeUInt32BE(lastStreamId & 0x7fffffff, 9);
  frame.writeUInt32BE(code, 13);
  text.copy(frame, 17);
  return frame;
}

/**
 * The frames carrying one header block: a HEADERS frame, then CONTINUATION frames when the block is
 * larger than the peer's maximum frame size.
 */
export function headerFrames(
  streamId: number,
  block: Buffer,
  endStream: boolean,
  maxFrame: number,
): Buffer[] {
  const endFlag = endStream ? Flags.END_STREAM : 0;
  if (block.length <= maxFrame) {
    return [frameHeader(block.length, FrameType.HEADERS, endFlag | Flags.END_HEADERS, streamId), block];
  }
  const out: Buffer[] = [];
  for (let at = 0; at < block.length; at += maxFrame) {
    const piece = block.subarray(at, Math.min(block.length, at + maxFrame));
    const last = at + maxFrame >= block.length;
    const type = at === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
    const flags = (at === 0 ? endFlag : 0) | (last ? Flags.END_HEADERS : 0);
    out.push(frameHeader(piece.length, type, flags, streamId), piece);
  }
  return out;
}
