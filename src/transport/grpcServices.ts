/**
 * gRPC service definitions for the two Konnectivity services, using our codec instead of a generated one.
 * The paths carry no package prefix because the reference's .proto files declare none (see proto/).
 * Deserialization never throws: a malformed message arrives as a MalformedPacketError value so the stream
 * owner can log why and close only that stream.
 */
import type * as grpc from '@grpc/grpc-js';
import { decodePacket, encodePacket } from '../protocol/codec';
import { MalformedPacketError } from '../protocol/errors';
import type { DecodedPacket, Packet } from '../protocol/packet';

export type Incoming = DecodedPacket | MalformedPacketError;

export const PROXY_PATH = '/ProxyService/Proxy';
export const CONNECT_PATH = '/AgentService/Connect';

function safeDecode(bytes: Buffer): Incoming {
  try {
    return decodePacket(bytes);
  } catch (err) {
    if (err instanceof MalformedPacketError) return err;
    return new MalformedPacketError('truncated', err instanceof Error ? err.message : String(err));
  }
}

function method(path: string, originalName: string): grpc.MethodDefinition<Packet, Packet> {
  return {
    path,
    requestStream: true,
    responseStream: true,
    requestSerialize: encodePacket,
    requestDeserialize: safeDecode as (b: Buffer) => Packet,
    responseSerialize: encodePacket,
    responseDeserialize: safeDecode as (b: Buffer) => Packet,
    originalName,
  };
}

export const proxyServiceDefinition: grpc.ServiceDefinition = { Proxy: method(PROXY_PATH, 'proxy') };
export const agentServiceDefinition: grpc.ServiceDefinition = { Connect: method(CONNECT_PATH, 'connect') };

export const serializePacket: (p: Packet) => Buffer = encodePacket;
export const deserializeIncoming: (b: Buffer) => Incoming = safeDecode;
