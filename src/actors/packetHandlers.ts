/**
 * Receiving packets the same way on every stream: one handler per packet type, checked by the compiler
 * to cover every type (a type added to the protocol fails to build until each receiver says what it does
 * with it), packets only the other side sends logged and dropped, packets of unknown types ignored with a
 * bounded log, CREDIT taken only where it was negotiated, and one wording for why a stream ended.
 *
 * A receiver class builds its table once, and each handler is given the receiver it acts for: a server
 * holds a frontend stream per idle tunnel and an agent stream per agent, and a table of closures for each
 * of them was about 1 KiB apiece.
 */
import { describePacket, type DecodedPacket } from '../protocol/packet';
import type { StreamEnd } from '../transport/packetStream';
import type { ActorLogger, LogFields } from './instruments';
import type { UnknownPacketNotice } from './unknownPackets';
import type { CarriedConnection, ConnectionTable } from './connectionTable';

type PacketOf<K extends DecodedPacket['type']> = Extract<DecodedPacket, { type: K }>;

/** A handler for one packet type, given the receiver it acts for. */
type Handler<R, K extends DecodedPacket['type']> = (receiver: R, packet: PacketOf<K>) => void;

export type PacketHandlers<R> = {
  readonly [K in DecodedPacket['type']]: Handler<R, K>;
};

/** Hands a packet to the handler of its type. */
export function dispatchPacket<R>(handlers: PacketHandlers<R>, receiver: R, packet: DecodedPacket): void {
  (handlers[packet.type] as (r: R, p: DecodedPacket) => void)(receiver, packet);
}

/** Who is at the other end of a kind of stream, for the log lines of the shared handlers. */
export interface StreamPeerKind {
  /** 'agent', 'server' or 'frontend'. */
  readonly noun: string;
  /** What the other side sends that this one never should: 'agents', 'frontends'. */
  readonly senders: string;
}

/** What the shared handlers need of a receiver. */
export interface PacketReceiver {
  readonly log: ActorLogger;
  /** The fields that name this stream in a log line; asked only when a line is written. */
  logFields(): LogFields;
  /** This stream's bounded log of unknown packet types, made on the first one. */
  unknownPackets(): UnknownPacketNotice;
}

/** A receiver whose stream carries connections (an agent tunnel, a server link). */
export interface CarrierReceiver<C extends CarriedConnection> extends PacketReceiver {
  /** Whether the peer negotiated CREDIT on this stream. */
  readonly credits: boolean;
  readonly table: ConnectionTable<C>;
}

/**
 * Handlers for what every receiver does alike: UNKNOWN is ignored (the reference ignores unknown types;
 * a newer peer may send them), and the listed types, which only the other side of the protocol sends,
 * are logged and dropped.
 */
export function commonHandlers<R extends PacketReceiver, T extends DecodedPacket['type']>(
  kind: StreamPeerKind,
  misdirected: readonly T[],
): { readonly [K in T | 'UNKNOWN']: Handler<R, K> } {
  const ignore = (r: R, p: DecodedPacket): void =>
    r.log.warn(`${kind.noun} sent a packet only ${kind.senders} send; ignored`, {
      ...r.logFields(),
      packet: describePacket(p),
    });
  const out: Record<string, (r: R, p: DecodedPacket) => void> = {
    UNKNOWN: (r, p) => r.unknownPackets().ignored((p as PacketOf<'UNKNOWN'>).code),
  };
  for (const type of misdirected) out[type] = ignore;
  return out as unknown as { readonly [K in T | 'UNKNOWN']: Handler<R, K> };
}

/**
 * The common handlers of a stream that carries connections, plus CREDIT, our extension: acted on only
 * when the peer negotiated it on this stream; from any other peer it is logged and ignored.
 */
export function carrierHandlers<
  C extends CarriedConnection,
  R extends CarrierReceiver<C>,
  T extends DecodedPacket['type'],
>(
  kind: StreamPeerKind,
  misdirected: readonly T[],
): { readonly [K in T | 'UNKNOWN' | 'CREDIT']: Handler<R, K> } {
  const article = /^[aeiou]/.test(kind.noun) ? 'an' : 'a';
  return {
    ...commonHandlers<R, T>(kind, misdirected),
    CREDIT: (r: R, p: PacketOf<'CREDIT'>) => {
      if (r.credits) r.table.credited(p.connectID, p.bytes);
      else
        r.log.warn(
          `CREDIT from ${article} ${kind.noun} that did not negotiate flow control; ignored`,
          r.logFields(),
        );
    },
  } as { readonly [K in T | 'UNKNOWN' | 'CREDIT']: Handler<R, K> };
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
