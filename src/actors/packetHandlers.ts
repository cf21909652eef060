/**
 * Receiving packets the same way on every stream: one handler per packet type, checked by the compiler
 * to cover every type (a type added to the protocol fails to build until each receiver says what it does
 * with it), packets only the other side sends logged and dropped, packets of unknown types ignored with a
 * bounded log, CREDIT taken only where it was negotiated, and one wording for why a stream ended.
 */
import { describePacket, type DecodedPacket } from '../protocol/packet';
import type { StreamEnd } from '../transport/packetStream';
import type { ActorLogger, LogFields } from './instruments';
import { UnknownPacketNotice } from './unknownPackets';
import type { CarriedConnection, ConnectionTable } from './connectionTable';

type PacketOf<K extends DecodedPacket['type']> = Extract<DecodedPacket, { type: K }>;

export type PacketHandlers = {
  readonly [K in DecodedPacket['type']]: (packet: PacketOf<K>) => void;
};

/** The function a stream's `packet` handler calls: counts the packet (metrics), then handles it. */
export function packetReceiver(
  count: (type: DecodedPacket['type']) => void,
  handlers: PacketHandlers,
): (packet: DecodedPacket) => void {
  return (packet) => {
    count(packet.type);
    (handlers[packet.type] as (p: DecodedPacket) => void)(packet);
  };
}

/** Who is at the other end of a stream, for the log lines of the shared handlers. */
export interface StreamPeer {
  readonly log: ActorLogger;
  /** 'agent', 'server' or 'frontend'. */
  readonly noun: string;
  /** What the other side sends that this one never should: 'agents', 'frontends'. */
  readonly senders: string;
  readonly fields: LogFields;
}

/**
 * Handlers for what every receiver does alike: UNKNOWN is ignored (the reference ignores unknown types;
 * a newer peer may send them), and the listed types, which only the other side of the protocol sends,
 * are logged and dropped.
 */
export function commonHandlers<T extends DecodedPacket['type']>(
  peer: StreamPeer,
  misdirected: readonly T[],
): { readonly [K in T | 'UNKNOWN']: (packet: PacketOf<K>) => void } {
  const unknown = new UnknownPacketNotice(peer.log, peer.fields);
  const ignore = (p: DecodedPacket): void =>
    peer.log.warn(`${peer.noun} sent a packet only ${peer.senders} send; ignored`, {
      ...peer.fields,
      packet: describePacket(p),
    });
  const out: Record<string, (p: DecodedPacket) => void> = {
    UNKNOWN: (p) => unknown.ignored((p as PacketOf<'UNKNOWN'>).code),
  };
  for (const type of misdirected) out[type] = ignore;
  return out as unknown as { readonly [K in T | 'UNKNOWN']: (packet: PacketOf<K>) => void };
}

/**
 * The common handlers of a stream that carries connections (an agent tunnel, a server link), plus CREDIT,
 * our extension: acted on only when the peer negotiated it on this stream; from any other peer it is
 * logged and ignored.
 */
export function carrierHandlers<T extends DecodedPacket['type'], C extends CarriedConnection>(
  peer: StreamPeer,
  misdirected: readonly T[],
  negotiated: () => boolean,
  table: ConnectionTable<C>,
): { readonly [K in T | 'UNKNOWN' | 'CREDIT']: (packet: PacketOf<K>) => void } {
  const article = /^[aeiou]/.test(peer.noun) ? 'an' : 'a';
  return {
    ...commonHandlers(peer, misdirected),
    CREDIT: (p: PacketOf<'CREDIT'>) => {
      if (negotiated()) table.credited(p.connectID, p.bytes);
      else
        peer.log.warn(
          `CREDIT from ${article} ${peer.noun} that did not negotiate flow control; ignored`,
          peer.fields,
        );
    },
  } as { readonly [K in T | 'UNKNOWN' | 'CREDIT']: (packet: PacketOf<K>) => void };
}

/** Why a stream ended, in words for logs and events; `errorPrefix` says whose stream failed. */
export function streamEndReason(end: StreamEnd, errorPrefix: string): string {
  switch (end.kind) {
    case 'error':
      return `${errorPrefix}${end.error.message}`;
    case 'local':
      return end.reason;
    case 'eof':
    case 'cancelled':
      return `stream ${end.kind}`;
    default: {
      const _exhaustive: never = end;
      return _exhaustive;
    }
  }
}
