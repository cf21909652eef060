/** Records what a PacketStream delivers, for assertions and polling. */
import type { MalformedPacketError } from '../../../src/protocol/errors';
import { packets, type DecodedPacket, type Packet } from '../../../src/protocol/packet';
import type { PacketStream, StreamEnd } from '../../../src/transport/packetStream';

export interface Collected {
  readonly packets: DecodedPacket[];
  readonly malformed: MalformedPacketError[];
  ends: StreamEnd[];
  drains: number;
  /** DATA payload bytes received. */
  bytes: number;
}

export interface CollectHooks {
  packet?: (p: DecodedPacket) => void;
  drain?: () => void;
  end?: (e: StreamEnd) => void;
}

export function collect(
  stream: PacketStream,
  hooks: CollectHooks | ((p: DecodedPacket) => void) = {},
): Collected {
  const h: CollectHooks = typeof hooks === 'function' ? { packet: hooks } : hooks;
  const onPacket = h.packet;
  const c: Collected = { packets: [], malformed: [], ends: [], drains: 0, bytes: 0 };
  stream.attach({
    packet: (p) => {
      if (p.type === 'DATA') {
        c.bytes += p.data.length;
        // Keep only a count for large transfers: holding views would keep every chunk alive.
        if (p.data.length >= 64 * 1024) {
          onPacket?.(p);
          return;
        }
      }
      c.packets.push(p);
      onPacket?.(p);
    },
    malformed: (e) => c.malformed.push(e),
    drain: () => {
      c.drains++;
      h.drain?.();
    },
    end: (e) => {
      c.ends.push(e);
      h.end?.(e);
    },
  });
  return c;
}

/** Describes an end for matchers: kind, and code/reason/message of an error. */
export function endOf(c: Collected): Record<string, unknown> | undefined {
  const e = c.ends[0];
  if (!e) return undefined;
  if (e.kind !== 'error') return { kind: e.kind };
  const err = e.error as Error & { code?: number; reason?: string; details?: string };
  return { kind: 'error', code: err.code, reason: err.reason, message: err.message };
}

/** A decoded packet of a known type (the golden vectors have no other kind). */
export function known(p: DecodedPacket): Packet {
  if (p.type === 'UNKNOWN') throw new Error(`unexpected packet type ${p.code}`);
  return p;
}

/**
 * Sends `total` bytes of DATA in packets of `chunk.length` on `stream`, following its drain: call the
 * returned function once to start and again on every drain. `progress.sent` counts what was handed to
 * send(); the stream is closed once all of it was.
 */
export function floodPump(
  stream: PacketStream,
  progress: { sent: number },
  total: number,
  chunk: Buffer,
): () => void {
  return () => {
    while (progress.sent < total) {
      progress.sent += chunk.length;
      if (!stream.send(packets.data(1n, chunk))) return;
    }
    stream.close();
  };
}
