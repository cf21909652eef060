/**
 * One `/ProxyService/Proxy` stream from a frontend (kube-apiserver in gRPC mode). The stream carries
 * exactly one connection: DIAL_REQ, then DATA both ways, then CLOSE_REQ / CLOSE_RSP.
 */
import { describePacket, packets, type Packet } from '../../protocol/packet';
import type { PacketStream, StreamEnd } from '../../transport/packetStream';
import type { ActorLogger, ServerInstruments } from '../instruments';
import { commonHandlers, packetReceiver, type PacketHandlers } from '../packetHandlers';
import type { DialFailureKind, Frontend, FrontendDial } from './frontend';
import type { ProxyServer } from './proxyServer';

export const BACKEND_NOT_INITIALIZED = 'backend not initialized';

export class GrpcFrontendSession implements Frontend {
  readonly mode = 'grpc' as const;
  private conn: FrontendDial | null = null;
  private random: bigint | null = null;
  private connectID: bigint | null = null;
  private finished = false;

  constructor(
    private readonly stream: PacketStream,
    private readonly server: ProxyServer,
    private readonly log: ActorLogger,
    private readonly metrics: ServerInstruments,
    private readonly onFinished: () => void = () => {},
  ) {
    stream.attach({
      packet: packetReceiver((type) => metrics.packet('from_client', type), this.packetHandlers()),
      malformed: (err) => {
        this.log.warn('malformed packet from frontend; closing its stream', {
          peer: stream.peer,
          reason: err.message,
        });
        this.conn?.frontendGone(`malformed packet: ${err.message}`);
        this.finish(`malformed packet: ${err.message}`);
      },
      // Per-connection flow control uses write completions, not the stream's drain.
      drain: () => {},
      end: (end) => this.onEnd(end),
    });
  }

  get peer(): string {
    return this.stream.peer;
  }

  private send(p: Packet): boolean {
    this.metrics.packet('to_client', p.type);
    return this.stream.send(p);
  }

  private packetHandlers(): PacketHandlers {
    const peer = { log: this.log, noun: 'frontend', senders: 'agents', fields: { peer: this.stream.peer } };
    return {
      DIAL_REQ: (p) => {
        if (this.random !== null) {
          this.log.warn('second DIAL_REQ on a frontend stream ignored: one stream carries one connection', {
            peer: this.peer,
            packet: describePacket(p),
          });
          return;
        }
        this.random = p.random;
        this.conn = this.server.dial(p.random, p.address, this, p.protocol);
      },
      DATA: (p) => {
        if (p.connectID === 0n) {
          this.log.debug(2, 'DATA with connectID 0 from frontend dropped', { peer: this.peer });
        } else if (this.conn === null && this.random === null) {
          this.send(packets.closeResponse(p.connectID, BACKEND_NOT_INITIALIZED));
        } else if (this.connectID === null || p.connectID !== this.connectID) {
          this.log.info('frontend DATA for a connection this stream does not hold; dropped', {
            peer: this.peer,
            connectionID: p.connectID,
          });
        } else {
          this.conn?.sendData(p.data);
        }
      },
      CLOSE_REQ: (p) => {
        if (this.conn && this.connectID !== null && p.connectID === this.connectID) {
          this.conn.requestClose('frontend sent CLOSE_REQ');
        } else {
          this.send(packets.closeResponse(p.connectID, 'Unknown connectID'));
        }
      },
      DIAL_CLS: (p) => {
        if (this.conn && p.random === this.random) this.conn.cancelDial();
      },
      ...commonHandlers(peer, ['DIAL_RSP', 'CLOSE_RSP', 'DRAIN', 'CREDIT'] as const),
    };
  }

  private onEnd(end: StreamEnd): void {
    const reason =
      end.kind === 'error' ? `frontend stream error: ${end.error.message}` : `frontend stream ${end.kind}`;
    this.conn?.frontendGone(reason);
    if (this.conn?.phase !== 'open') this.finish();
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
    this.onFinished();
    if (abortReason) this.stream.abort(abortReason);
    else this.stream.close();
  }
}
