import type { FrontendMode } from '../../protocol/frontendModes';

/**
 * What the server needs from a frontend connection, whatever its transport. A gRPC Proxy stream and an
 * HTTP CONNECT socket both carry exactly one proxied connection.
 */

/** Why a dial failed, as the frontend must report it (it decides the HTTP status in http-connect mode). */
export type DialFailureKind = 'no-agent' | 'agent-error' | 'timeout' | 'agent-lost' | 'bad-address';

export interface Frontend {
  readonly mode: FrontendMode;
  readonly peer: string;
  dialSucceeded(connectID: bigint): void;
  dialFailed(kind: DialFailureKind, error: string): void;
  /** Bytes from the agent; `taken` runs once the frontend's transport has written them out. */
  deliver(data: Buffer, taken: () => void): void;
  /** The far side closed the connection: tell the frontend (CLOSE_RSP / end the socket). */
  closed(error?: string): void;
  /** Tear down without protocol (the tunnel is gone). */
  abort(reason: string): void;
  /** Stop / restart reading bytes from the frontend (tunnel backpressure). */
  pause(): void;
  resume(): void;
}
