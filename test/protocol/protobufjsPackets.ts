/**
 * An independent encoder for the golden vectors: protobufjs reading `proto/*.proto`, fed plain objects built
 * here from the packet's fields (never from our codec's bytes), so the vectors in this folder are a second
 * implementation's opinion of the wire, not a copy of ours.
 */
import * as path from 'path';
import * as protobuf from 'protobufjs';
import type { Packet } from '../../src/protocol/packet';

export async function loadProtobufjsPacketType(): Promise<protobuf.Type> {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(__dirname, '../../proto', path.basename(target));
  await root.load('agent.proto');
  return root.lookupType('Packet');
}

/** proto3 leaves default values off the wire; protobufjs writes every own property, so defaults are omitted here. */
function withoutDefaults(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === '' || value === 0n || (Buffer.isBuffer(value) && value.length === 0)) continue;
    out[key] = typeof value === 'bigint' ? value.toString() : value;
  }
  return out;
}

/** The protobufjs object form of a reference packet type (the CREDIT extension is not in the schema). */
export function toProtobufjsObject(p: Packet): Record<string, unknown> {
  switch (p.type) {
    case 'DIAL_REQ':
      return { dialRequest: withoutDefaults({ protocol: p.protocol, address: p.address, random: p.random }) };
    case 'DIAL_RSP':
      return {
        type: 1,
        dialResponse: withoutDefaults({ error: p.error, connectID: p.connectID, random: p.random }),
      };
    case 'CLOSE_REQ':
      return { type: 2, closeRequest: withoutDefaults({ connectID: p.connectID }) };
    case 'CLOSE_RSP':
      return { type: 3, closeResponse: withoutDefaults({ error: p.error, connectID: p.connectID }) };
    case 'DATA':
      return { type: 4, data: withoutDefaults({ connectID: p.connectID, error: p.error, data: p.data }) };
    case 'DIAL_CLS':
      return { type: 5, closeDial: withoutDefaults({ random: p.random }) };
    case 'DRAIN':
      return { type: 6, drain: {} };
    case 'CREDIT':
      throw new Error('CREDIT is our extension and has no protobufjs form');
    default: {
      const _exhaustive: never = p;
      return _exhaustive;
    }
  }
}

export function encodeWithProtobufjs(type: protobuf.Type, p: Packet): string {
  return Buffer.from(type.encode(type.fromObject(toProtobufjsObject(p))).finish()).toString('hex');
}
