/**
 * The header blocks a gRPC server sends, encoded once where they never change. Our encoder never touches
 * the peer's dynamic table, so blocks can be joined: a trailers-only response is the response headers'
 * block followed by the status block.
 */
import { GRPC_CONTENT_TYPE } from '../grpcFraming';
import { encodeGrpcMessage, GrpcStatus, type GrpcStatusCode } from '../grpcStatus';
import { encodeHeaderBlock } from '../hpack/hpackEncoder';
import { metadataHeaders, type OutgoingMetadata } from '../metadata';

export const plainResponseBlock = encodeHeaderBlock([':status', '200', 'content-type', GRPC_CONTENT_TYPE]);

export const okTrailersBlock = encodeHeaderBlock(['grpc-status', String(GrpcStatus.OK)]);

export function statusBlock(code: GrpcStatusCode, message: string): Buffer {
  if (code === GrpcStatus.OK && message === '') return okTrailersBlock;
  return encodeHeaderBlock(
    message === ''
      ? ['grpc-status', String(code)]
      : ['grpc-status', String(code), 'grpc-message', encodeGrpcMessage(message)],
  );
}

export function trailersOnlyBlock(
  response: Buffer | undefined,
  code: GrpcStatusCode,
  message: string,
): Buffer {
  return Buffer.concat([response ?? plainResponseBlock, statusBlock(code, message)]);
}

/** A non-gRPC-200 answer (415, 405...) carrying a gRPC status, as grpc servers refuse bad requests. */
export function refusalBlock(httpStatus: number, code: GrpcStatusCode, message: string): Buffer {
  return encodeHeaderBlock([
    ':status',
    String(httpStatus),
    'content-type',
    GRPC_CONTENT_TYPE,
    'grpc-status',
    String(code),
    'grpc-message',
    encodeGrpcMessage(message),
  ]);
}

/**
 * Response headers with metadata, per metadata object: a caller that answers every call with the same
 * object (the agent endpoint's serverid/servercount) gets the block encoded once.
 */
const blocks = new WeakMap<OutgoingMetadata, Buffer>();

export function responseBlockWith(metadata: OutgoingMetadata): Buffer {
  let block = blocks.get(metadata);
  if (!block) {
    const list = [':status', '200', 'content-type', GRPC_CONTENT_TYPE];
    for (const [key, value] of Object.entries(metadataHeaders(metadata))) {
      if (Array.isArray(value)) for (const v of value) list.push(key, String(v));
      else list.push(key, String(value));
    }
    block = encodeHeaderBlock(list);
    blocks.set(metadata, block);
  }
  return block;
}
