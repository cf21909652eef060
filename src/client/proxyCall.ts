/**
 * One `/ProxyService/Proxy` call on its own gRPC channel, owned from start to end. Like the reference's
 * konnectivity-client, every tunnel gets its own channel (and so its own HTTP/2 connection by default),
 * which is closed as soon as the call has a status, so a finished tunnel leaves nothing behind.
 *
 * Why not src/transport/GrpcPacketStream: grpc-js emits 'status' before packets still buffered in a paused
 * call are delivered, and a tunnel must see every DATA before it treats the stream as ended. Here "ended"
 * is the call's readable 'end' (all packets delivered), with the status recorded just before it.
 */
import { CLIENT_WINDOW_OPTIONS } from '../transport/grpcWindows';
import * as grpc from '@grpc/grpc-js';
import { MalformedPacketError } from '../protocol/errors';
import type { Packet } from '../protocol/packet';
import { deserializeIncoming, PROXY_PATH, serializePacket, type Incoming } from '../transport/grpcServices';

/**
 * After we half-close, how long the server gets to finish its side before we cancel. Servers answer a
 * half-close at once; this only bounds how long a misbehaving one can keep the channel open.
 */
export const STREAM_END_GRACE_MS = 1_000;

export interface GrpcTlsOptions {
  readonly ca: string | Buffer;
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /**
   * Name to verify the server certificate against when it differs from the target host. Also worth setting
   * (e.g. to `localhost`) for an IP target: grpc-js would otherwise send the IP as SNI, which Node warns
   * about (DEP0123).
   */
  readonly servername?: string;
}

export interface ProxyCallHandlers {
  packet(packet: Packet): void;
  malformed(error: MalformedPacketError): void;
  /** The call can take more after `send` returned false. */
  drain(): void;
  /** Every incoming packet has been delivered; `status` is how the call ended. */
  end(status: grpc.StatusObject): void;
}

/** One HTTP/2 connection per tunnel, as the reference client (one grpc.Dial per tunnel) behaves. */
const DEFAULT_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.use_local_subchannel_pool': 1,
  'grpc.enable_channelz': 0,
  // kube-apiserver's Go client grows its window by BDP estimation; a fixed large window stands in for it.
  ...CLIENT_WINDOW_OPTIONS,
};

function credentialsFor(tls: GrpcTlsOptions | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(Buffer.from(tls.ca), Buffer.from(tls.key), Buffer.from(tls.cert));
}

function channelOptionsFor(
  tls: GrpcTlsOptions | undefined,
  extra: grpc.ChannelOptions | undefined,
): grpc.ChannelOptions {
  const options: grpc.ChannelOptions = { ...DEFAULT_CHANNEL_OPTIONS };
  if (tls?.servername) {
    options['grpc.ssl_target_name_override'] = tls.servername;
    options['grpc.default_authority'] = tls.servername;
  }
  return { ...options, ...extra };
}

export class ProxyCall {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Packet, Incoming>;
  private status: grpc.StatusObject | undefined;
  private halfClosed = false;
  private graceTimer: NodeJS.Timeout | undefined;
  /** Resolves once the call has a status and its channel is closed. Never rejects. */
  readonly done: Promise<grpc.StatusObject>;

  constructor(
    target: string,
    tls: GrpcTlsOptions | undefined,
    channelOptions: grpc.ChannelOptions | undefined,
    private handlers: ProxyCallHandlers,
  ) {
    this.client = new grpc.Client(target, credentialsFor(tls), channelOptionsFor(tls, channelOptions));
    const call = this.client.makeBidiStreamRequest<Packet, Incoming>(
      PROXY_PATH,
      serializePacket,
      deserializeIncoming,
      new grpc.Metadata(),
      {},
    );
    this.call = call;
    this.done = new Promise((resolve) => {
      call.on('status', (status: grpc.StatusObject) => {
        this.status = status;
        clearTimeout(this.graceTimer);
        this.client.close();
        resolve(status);
      });
    });
    // The same failure also arrives as 'status', which covers OK too; this only keeps 'error' from throwing.
    call.on('error', () => undefined);
    call.on('data', (msg: Incoming) => {
      if (msg instanceof MalformedPacketError) this.handlers.malformed(msg);
      // A type this build does not know: ignored, as the reference's client ignores it.
      else if (msg.type !== 'UNKNOWN') this.handlers.packet(msg);
    });
    call.on('drain', () => this.handlers.drain());
    call.on('end', () => {
      this.handlers.end(
        this.status ?? {
          code: grpc.status.UNKNOWN,
          details: 'stream ended without a status',
          metadata: new grpc.Metadata(),
        },
      );
    });
  }

  /** Hands the call to its next owner (the dial, then the connection). */
  setHandlers(handlers: ProxyCallHandlers): void {
    this.handlers = handlers;
  }

  get finished(): boolean {
    return this.status !== undefined;
  }

  /** Sends a packet; false means wait for `drain`. Packets after our half-close or the end are dropped. */
  send(packet: Packet): boolean {
    if (this.halfClosed || this.status) return true;
    return this.call.write(packet);
  }

  /** Stops reading; HTTP/2 flow control then stops the server from sending more. */
  pause(): void {
    this.call.pause();
  }

  resume(): void {
    this.call.resume();
  }

  /** Half-closes our side, and cancels if the server has not finished within STREAM_END_GRACE_MS. */
  endGracefully(): void {
    if (this.halfClosed || this.status) return;
    this.halfClosed = true;
    this.call.end();
    this.graceTimer = setTimeout(() => this.cancel(), STREAM_END_GRACE_MS);
  }

  /** Tears the call down now (RST_STREAM CANCEL), as the reference client does on Close. */
  cancel(): void {
    if (!this.status) this.call.cancel();
  }
}
