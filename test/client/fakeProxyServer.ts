/**
 * A scripted `/ProxyService/Proxy` server for testing the client's side of the protocol, not a Konnectivity
 * server: the dial address picks a behaviour, and everything the client sends is recorded.
 *
 * Addresses: `echo:1` answers the dial and echoes DATA; `refused:1` answers with a dial error; `silent:1`
 * never answers; `wrong-random:1` first answers another random; `dial-cls:1` cancels the dial;
 * `remote-close:1` sends DATA "bye" and CLOSE_RSP; `download:<n>` sends n pattern bytes as fast as flow
 * control allows; `stall:1` answers, then reads nothing until `resumeReading()`; `fail:1` fails the stream
 * with INTERNAL when it receives DATA.
 */
import * as grpc from '@grpc/grpc-js';
import { MalformedPacketError } from '../../src/protocol/errors';
import { packets, type Packet } from '../../src/protocol/packet';
import { proxyServiceDefinition } from '../../src/transport/grpcServices';
import { patternBytes } from '../helpers/pattern';

export const CONNECT_ID = 42n;
export const REFUSED_ERROR = 'dial tcp 127.0.0.1:1: connect: connection refused';
const DOWNLOAD_CHUNK = 32 * 1024;

type ServerCall = grpc.ServerDuplexStream<Packet, Packet>;

/** What one client stream did, as the server saw it. */
export interface StreamRecord {
  readonly received: Packet[];
  dataBytes: number;
  /** Bytes of `download:<n>` written so far, and whether a write ever hit backpressure. */
  sent: number;
  blocked: boolean;
  /** The client half-closed (a graceful end). */
  ended: boolean;
  /** The stream went away before the server finished it (grpc-js also says 'cancelled' after a status). */
  cancelled: boolean;
  /** The server ended the stream on its own initiative (after CLOSE_REQ). */
  finished: boolean;
  resumeReading(): void;
}

function waitDrain(call: ServerCall): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('cancelled', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
  });
}

async function sendDownload(call: ServerCall, record: StreamRecord, total: number): Promise<void> {
  while (record.sent < total && !record.cancelled) {
    const length = Math.min(DOWNLOAD_CHUNK, total - record.sent);
    const ok = call.write(packets.data(CONNECT_ID, patternBytes(record.sent, length)));
    record.sent += length;
    if (!ok) {
      record.blocked = true;
      await waitDrain(call);
    }
  }
}

export class FakeProxyServer {
  readonly streams: StreamRecord[] = [];
  private readonly server = new grpc.Server();

  constructor() {
    this.server.addService(proxyServiceDefinition, { Proxy: (call: ServerCall) => this.handle(call) });
  }

  /** Binds to `target` (`unix:///path` or `127.0.0.1:0`); returns the bound port (0 for Unix sockets). */
  listen(target: string, credentials = grpc.ServerCredentials.createInsecure()): Promise<number> {
    return new Promise((resolve, reject) =>
      this.server.bindAsync(target, credentials, (err, port) => (err ? reject(err) : resolve(port))),
    );
  }

  /** Every DIAL_REQ received so far, across streams. */
  dialRequests(): Extract<Packet, { type: 'DIAL_REQ' }>[] {
    return this.streams.flatMap((s) => s.received.filter((p) => p.type === 'DIAL_REQ'));
  }

  close(): void {
    this.server.forceShutdown();
  }

  private handle(call: ServerCall): void {
    const record: StreamRecord = {
      received: [],
      dataBytes: 0,
      sent: 0,
      blocked: false,
      ended: false,
      cancelled: false,
      finished: false,
      resumeReading: () => call.resume(),
    };
    this.streams.push(record);
    let address = '';
    const finish = (): void => {
      record.finished = true;
      call.end();
    };
    call.on('cancelled', () => (record.cancelled ||= !record.finished));
    call.on('error', () => undefined);
    call.on('end', () => {
      // Not `finish()`: grpc-js may deliver 'end' before 'cancelled' when the client cancels.
      record.ended = true;
      call.end();
    });
    call.on('data', (p: Packet | MalformedPacketError) => {
      if (p instanceof MalformedPacketError) throw p;
      record.received.push(p);
      switch (p.type) {
        case 'DIAL_REQ':
          address = p.address;
          this.dial(call, record, p.address, p.random);
          return;
        case 'DATA':
          record.dataBytes += p.data.length;
          if (address === 'fail:1')
            call.emit('error', { code: grpc.status.INTERNAL, details: 'scripted failure' });
          else if (address === 'echo:1') call.write(packets.data(p.connectID, p.data));
          return;
        case 'CLOSE_REQ':
          call.write(packets.closeResponse(p.connectID));
          finish();
          return;
        default:
          return;
      }
    });
  }

  private dial(call: ServerCall, record: StreamRecord, address: string, random: bigint): void {
    const [kind, arg] = address.split(':');
    switch (kind) {
      case 'refused':
        call.write(packets.dialResponse(random, 0n, REFUSED_ERROR));
        return;
      case 'silent':
        return;
      case 'wrong-random':
        call.write(packets.dialResponse(random + 1n, 7n));
        call.write(packets.dialResponse(random, CONNECT_ID));
        return;
      case 'dial-cls':
        call.write(packets.closeDial(random));
        return;
      case 'remote-close':
        call.write(packets.dialResponse(random, CONNECT_ID));
        call.write(packets.data(CONNECT_ID, Buffer.from('bye')));
        call.write(packets.closeResponse(CONNECT_ID));
        return;
      case 'download':
        call.write(packets.dialResponse(random, CONNECT_ID));
        void sendDownload(call, record, Number(arg));
        return;
      case 'stall':
        call.write(packets.dialResponse(random, CONNECT_ID));
        call.pause();
        return;
      default:
        call.write(packets.dialResponse(random, CONNECT_ID));
    }
  }
}
