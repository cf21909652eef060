/**
 * gRPC metadata on HTTP/2 headers. Keys travel lower-cased; a key may repeat (read from the raw header
 * list, because node:http2 joins repeated values with ", "); `-bin` keys carry base64 and are exposed as
 * bytes. Transport headers (pseudo-headers, content-type, te, grpc-*) are not metadata.
 */
import type * as http2 from 'http2';

export interface IncomingMetadata {
  /** Text metadata: lower-case key to every value, in arrival order. */
  readonly text: Record<string, string[]>;
  /** `-bin` metadata, base64-decoded. */
  readonly binary: Record<string, Buffer[]>;
}

/** Text values, or bytes for `-bin` keys; an array sends the key once per value. */
export type OutgoingMetadata = Record<string, string | readonly string[] | Buffer>;

const RESERVED = new Set(['content-type', 'te', 'user-agent', 'grpc-timeout', 'grpc-encoding']);

function isReserved(key: string): boolean {
  return key.startsWith(':') || (key.startsWith('grpc-') && !key.endsWith('-bin')) || RESERVED.has(key);
}

/** Reads metadata from node:http2's raw header list ([name, value, name, value, ...]). */
export function readMetadata(rawHeaders: readonly string[]): IncomingMetadata {
  const text: Record<string, string[]> = {};
  const binary: Record<string, Buffer[]> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const key = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (isReserved(key)) continue;
    if (key.endsWith('-bin')) {
      // Several values may also arrive comma-joined in one field (allowed for -bin by the spec).
      for (const part of value.split(',')) (binary[key] ??= []).push(Buffer.from(part.trim(), 'base64'));
    } else {
      (text[key] ??= []).push(value);
    }
  }
  return { text, binary };
}

/** Metadata as outgoing HTTP/2 headers; reserved keys are refused so they cannot break the call. */
export function metadataHeaders(metadata: OutgoingMetadata | undefined): http2.OutgoingHttpHeaders {
  const headers: http2.OutgoingHttpHeaders = {};
  if (!metadata) return headers;
  for (const [rawKey, value] of Object.entries(metadata)) {
    const key = rawKey.toLowerCase();
    if (isReserved(key)) throw new TypeError(`metadata key ${key} is reserved for the transport`);
    if (Buffer.isBuffer(value)) headers[key] = value.toString('base64');
    else headers[key] = typeof value === 'string' ? value : [...value];
  }
  return headers;
}
