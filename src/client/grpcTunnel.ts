/**
 * Dialing through a Konnectivity server in gRPC mode, the way kube-apiserver's konnectivity-client does:
 * one `/ProxyService/Proxy` stream per connection, DIAL_REQ with a fresh random, and the DIAL_RSP that
 * carries the same random decides.
 */
import { randomBytes } from 'crypto';
import type * as grpc from '@grpc/grpc-js';
import { describePacket, packets, type Packet } from '../protocol/packet';
import { DialError, GrpcDialError } from './errors';
import { ProxyCall, type GrpcTlsOptions } from './proxyCall';
import { DEFAULT_DIAL_TIMEOUT_MS } from './timeouts';
import { TunnelConnection } from './tunnelConnection';

export type { GrpcTlsOptions } from './proxyCall';

export interface GrpcDialOptions {
  /** `unix:///path/to/socket` (kube-apiserver's way, no TLS) or `host:port`. */
  readonly target: string;
  /** mTLS to the frontend port; omit for a Unix socket. */
  readonly tls?: GrpcTlsOptions;
  /** `host:port` the agent should connect to. */
  readonly address: string;
  readonly timeoutMs?: number;
  /** Extra grpc-js channel options (e.g. `'grpc.use_local_subchannel_pool': 0` to share connections). */
  readonly channelOptions?: grpc.ChannelOptions;
  /** Fixes the dial's random instead of drawing one; for tests that need to know it. */
  readonly random?: bigint;
}

const INT63_MASK = (1n << 63n) - 1n;

/**
 * A uniform random in [1, 2^63). The reference draws from [0, 2^63); 0 is left out because on the wire it
 * is indistinguishable from "no random" (proto3 omits zero), which some peers treat as unset.
 */
export function randomDialId(): bigint {
  for (;;) {
    const value = randomBytes(8).readBigUInt64BE() & INT63_MASK;
    if (value !== 0n) return value;
  }
}

export function dialViaGrpc(options: GrpcDialOptions): Promise<TunnelConnection> {
  const { address } = options;
  const random = options.random ?? randomDialId();
  const timeoutMs = options.timeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;

  return new Promise<TunnelConnection>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      // Tell the server to forget the pending dial, then let the stream wind down in the background.
      call.send(packets.closeDial(random));
      fail(new DialError('timeout', address, `dial ${address} timed out after ${timeoutMs} ms`));
    }, timeoutMs);

    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      return true;
    };
    const fail = (error: DialError): void => {
      if (!settle()) return;
      call.endGracefully();
      reject(error);
    };
    const onPacket = (p: Packet): void => {
      if (p.type === 'DIAL_RSP' && p.random === random) {
        if (p.error) {
          fail(new GrpcDialError(address, p.error));
        } else if (settle()) {
          // Synchronous hand-over: the next packet on the call already goes to the connection.
          resolve(new TunnelConnection(call, p.connectID, address));
        }
      } else if (p.type === 'DIAL_CLS' && p.random === random) {
        fail(new DialError('dial-closed', address, `dial ${address} was closed by the proxy`));
      } else if (p.type === 'CLOSE_RSP' && p.error) {
        // e.g. "backend not initialized": the server did not take our DIAL_REQ as a dial.
        fail(new DialError('protocol', address, `proxy answered the dial with ${describePacket(p)}`));
      }
      // Anything else (a DIAL_RSP for another random, DATA before the dial) is not ours; ignore it.
    };

    const call: ProxyCall = new ProxyCall(options.target, options.tls, options.channelOptions, {
      packet: onPacket,
      malformed: (err) =>
        fail(
          new DialError('protocol', address, `malformed packet from the proxy: ${err.message}`, {
            cause: err,
          }),
        ),
      drain: () => undefined,
      end: (status) =>
        fail(
          new DialError(
            'transport',
            address,
            `proxy stream ended before the dial completed: ${status.details}`,
            {
              cause: status,
            },
          ),
        ),
    });
    call.send(packets.dialRequest(address, random));
  });
}
