/**
 * One `/ProxyService/Proxy` stream from a frontend (kube-apiserver in gRPC mode). The stream carries
 * exactly one connection: DIAL_REQ, then DATA both ways, then CLOSE_REQ / CLOSE_RSP.
 */
import { describePacket, packets, type DecodedPacket, type Packet } from '../../protocol/packet';
import type { MalformedPacketError } from '../../protocol/errors';
import type { PacketStream, PacketStreamHandlers, StreamEnd } from '../../transport/packetStream';
import type { ActorLogger, LogFields, ServerInstruments } from '../instruments';
import { commonHandlers, dispatchPacket, type PacketHandlers, type PacketReceiver } from '../packetHandlers';
import { UnknownPacketNotice } from '../unknownPackets';
import type { DialFailureKind, Frontend, FrontendDial } from './frontend';
import type { ProxyServer } from './proxyServer';

export const BACKEND_NOT_INITIALIZED = 'backend not initialized';

/** What a frontend stream's packets do, for every session (a session is handed to each handler). */
const HANDLERS: PacketHandlers<GrpcFrontendSession> = {
  DIAL_REQ: (s, p) => s.onDialRequest(p),
  DATA: (s, p) => s.onData(p.connectID, p.data),
  CLOSE_REQ: (s, p) => s.onCloseRequest(p.connectID),
  DIAL_CLS: (s, p) => s.onDialClose(p.random),
  ...commonHandlers({ noun: 'frontend', senders: 'agents' }, [
    'DIAL_RSP',
    'CLOSE_RSP',
    'DRAIN',
    'CREDIT',
  ] as const),
};

/**
 * The session is its stream's handlers and its packets' receiver itself: a server holds one per idle
 * tunnel, so it carries no closures.
 */
export class GrpcFrontendSession implements Frontend, PacketStreamHandlers, PacketReceiver {
  readonly mode = 'grpc' as const;
  private conn: FrontendDial | null = null;
  private random: bigint | null = null;
  private connectID: bigint | null = null;
  private finished = false;
  private unknown: UnknownPacketNotice | undefined;

  constructor(
    private readonly stream: PacketStream,
    private readonly server: ProxyServer,
    readonly log: ActorLogger,
    private readonly metrics: ServerInstruments,
  ) {
    stream.attach(this);
  }

  get peer(): string {
    return this.stream.peer;
  }

  /** The session is over (its stream closed or closing). */
  get isFinished(): boolean {
    return this.finished;
  }

  private send(p: Packet): boolean {
    this.metrics.packet('to_client', p.type);
    return this.stream.send(p);
  }

  // ------------------------------------------------------------------- PacketReceiver
  logFields(): LogFields {
    return { peer: this.stream.peer };
  }

  unknownPackets(): UnknownPacketNotice {
    return (this.unknown ??= new UnknownPacketNotice(this.log, this.logFields()));
  }

  // ------------------------------------------------------------------- PacketStreamHandlers
  packet(packet: DecodedPacket): void {
    this.metrics.packet('from_client', packet.type);
    dispatchPacket(HANDLERS, this, packet);
  }

  malformed(err: MalformedPacketError): void {
    this.log.warn('malformed packet from frontend; closing its stream', {
      peer: this.stream.peer,
      reason: err.message,
    });
    this.conn?.frontendGone(`malformed packet: ${err.message}`);
    this.finish(`malformed packet: ${err.message}`);
  }

  /** Per-connection flow control uses write completions, not the stream's drain. */
  drain(): void {}

  end(end: StreamEnd): void {
    const reason =
      end.kind === 'error' ? `frontend stream error: ${end.error.message}` : `frontend stream ${end.kind}`;
    this.conn?.frontendGone(reason);
    if (this.conn?.phase !== 'open') this.finish();
  }

  // ------------------------------------------------------------------- from the frontend
  onDialRequest(p: Extract<DecodedPacket, { type: 'DIAL_REQ' }>): void {
    if (this.random !== null) {
      this.log.warn('second DIAL_REQ on a frontend stream ignored: one stream carries one connection', {
        peer: this.peer,
        packet: describePacket(p),
      });
      return;
    }
    this.random = p.random;
    this.conn = this.server.dial(p.random, p.address, this, p.protocol);
  }

  onData(connectID: bigint, data: Buffer): void {
    if (connectID === 0n) {
      this.log.debug(2, 'DATA with connectID 0 from frontend dropped', { peer: this.peer });
    } else if (this.conn === null && this.random === null) {
      this.send(packets.closeResponse(connectID, BACKEND_NOT_INITIALIZED));
    } else if (this.connectID === null || connectID !== this.connectID) {
      this.log.info('frontend DATA for a connection this stream does not hold; dropped', {
        peer: this.peer,
        connectionID: connectID,
      });
    } else {
      this.conn?.sendData(data);
    }
  }

  onCloseRequest(connectID: bigint): void {
    if (this.conn && this.connectID !== null && connectID === this.connectID) {
      this.conn.requestClose('frontend sent CLOSE_REQ');
    } else {
      this.send(packets.closeResponse(connectID, 'Unknown connectID'));
    }
  }

  onDialClose(random: bigint): void {
    if (this.conn && random === this.random) this.conn.cancelDial();
  }

  // ------------------------------------------------------------------- Frontend
  dialSucceeded(connectID: bigint): void {
    this.connectID = connectID;
    this.send(packets.dialResponse(this.random ?? 0n, connectID));
  }

  dialFailed(_kind: DialFailureKind, error: string): void {
    this.send(packets.dialResponse(this.random ?? 0n, 0n, error));
    this.finish();
  }

  deliver(data: Buffer, taken: () => void): void {
    if (this.connectID === null) {
      taken();
      return;
    }
    this.metrics.packet('to_client', 'DATA');
    this.stream.send(packets.data(this.connectID, data), taken);
  }

  closed(error?: string): void {
    if (this.connectID !== null) this.send(packets.closeResponse(this.connectID, error ?? ''));
    this.finish();
  }

  abort(reason: string): void {
    // A CLOSE_RSP with the reason lets the client close its connection at once instead of timing out.
    if (this.connectID !== null) this.send(packets.closeResponse(this.connectID, reason));
    this.finish();
  }

  pause(): void {
    this.stream.pauseReceiving();
  }

  resume(): void {
    this.stream.resumeReceiving();
  }

  private finish(abortReason?: string): void {
    if (this.finished) return;
    this.finished = true;
    this.server.frontendFinished(this);
    if (abortReason) this.stream.abort(abortReason);
    else this.stream.close();
  }
}
