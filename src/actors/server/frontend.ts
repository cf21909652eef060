import type { FrontendMode } from '../../protocol/frontendModes';

/**
 * What the server needs from a frontend connection, whatever its transport. A gRPC Proxy stream and an
 * HTTP CONNECT socket both carry exactly one proxied connection.
 */

/**
 * Why a dial failed, as the frontend must report it (it decides the HTTP status in http-connect mode).
 * `too-many-dials`: the server's admission queue was full (dialAdmission.ts); the frontend may retry.
 */
export type DialFailureKind =
  'no-agent' | 'agent-error' | 'timeout' | 'agent-lost' | 'bad-address' | 'too-many-dials';

/**
 * What a frontend holds for its one dial: a dial waiting for admission (QueuedDial), then the dial and
 * connection through an agent (ProxiedConnection). The frontend talks to it the same way throughout.
 */
export interface FrontendDial {
  readonly phase: 'waiting' | 'dialing' | 'open' | 'done';
  /** DATA from the frontend (dropped until the connection is open). */
  sendData(data: Buffer): void;
  /** CLOSE_REQ from the frontend. */
  requestClose(reason: string): void;
  /** DIAL_CLS from the frontend. */
  cancelDial(): void;
  /** The frontend stream or socket ended (EOF, cancel, error). */
  frontendGone(reason: string): void;
}

export interface Frontend {
  readonly mode: FrontendMode;
  readonly peer: string;
  /** The session is over; it has told the server (`ProxyServer.frontendFinished`). */
  readonly isFinished: boolean;
  /**
   * Optional, just before `dialSucceeded`: the dial succeeded, the frontend may tell its client now, while
   * the connection is still being set up. An HTTP 200 written here leaves at once, ahead of that work (it
   * is on every dial's latency); a reply on HTTP/2 would leave only at the end of the loop turn anyway.
   */
  dialAccepted?(): void;
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
