/**
 * One established connection (a data stream), on either side. "Near" is the side that asked for it
 * (server: the frontend; agent: the server) and "far" the side that carries it out (server: the agent;
 * agent: the endpoint socket). Bytes never pass through this machine: it only models who closed what, and
 * whether the connection's sink has fallen so far behind that it holds up the shared stream, so a
 * connection always ends, exactly once, with a reason.
 */
import { assign, setup } from 'xstate';
import { effect, type Effects } from './effects';
import { OVERFLOW_GRACE_MS } from '../protocol/flowControl';

/**
 * What ended the connection, in the machine's side-neutral words: the near side, the far side, the loss
 * of what carried it, or eviction of a stalled sink. Each actor maps these to its side's metric reason and
 * to the events' CloseInitiator (`frontend`, `agent`, `endpoint`, `server`), which names the process.
 */
export type ConnectionCloser = 'near' | 'far' | 'lost' | 'evicted';

export interface ConnectionContext {
  readonly connectID: string;
  readonly closedBy: ConnectionCloser | null;
  readonly reason: string | null;
}

export type ConnectionEvent =
  /** The near side wants it closed (server: CLOSE_REQ or frontend gone; agent: CLOSE_REQ from the server). */
  | { type: 'CLOSE_REQUESTED'; reason: string }
  /** The far side has closed (server: CLOSE_RSP from the agent; agent: endpoint EOF or error). */
  | { type: 'FAR_END_CLOSED'; reason: string }
  /** What carried the connection is gone (server: agent stream; agent: server link). */
  | { type: 'TUNNEL_LOST'; reason: string }
  /** The local sink holds more than the overflow limit / is back under the drained mark. */
  | { type: 'OVERFLOWED' }
  | { type: 'DRAINED' };

/**
 * How long to wait for the far side to confirm a close before forgetting the connection anyway. The
 * reference waits forever; a peer that never answers must not pin the connection's resources.
 */
export const CLOSE_CONFIRM_TIMEOUT_MS = 10_000;

/** What an actor running this machine must do (see effects.ts). */
export const connectionEffects = {
  /** Ask the far side to close (server: CLOSE_REQ to the agent; agent: close the endpoint socket). */
  requestFarClose: effect,
  /** Tell the near side it is closed (server: CLOSE_RSP / socket end to the frontend; agent: CLOSE_RSP). */
  notifyNearClosed: effect,
  /** Tear down whatever is left on both sides without further protocol (the carrier is gone). */
  abortBoth: effect,
  /** Stop reading the shared stream until this connection's sink drains (no credits to slow the peer). */
  holdTunnel: effect,
  releaseTunnel: effect,
  /** Close both sides because the sink stalled too long (the shared stream must move again). */
  evict: effect,
} satisfies Effects;

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as { connectID: string },
    output: {} as { closedBy: ConnectionCloser; reason: string },
  },
  actions: {
    ...connectionEffects,
    record: assign({
      closedBy: ({ context }, by: ConnectionCloser) => context.closedBy ?? by,
      reason: ({ context, event }) => context.reason ?? ('reason' in event ? event.reason : null),
    }),
    recordEviction: assign({
      closedBy: ({ context }) => context.closedBy ?? 'evicted',
      reason: ({ context }) => context.reason ?? 'buffer-overflow',
    }),
  },
  delays: { closeConfirmTimeout: CLOSE_CONFIRM_TIMEOUT_MS, overflowGrace: OVERFLOW_GRACE_MS },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({ connectID: input.connectID, closedBy: null, reason: null }),
  initial: 'open',
  states: {
    open: {
      initial: 'flowing',
      states: {
        flowing: { on: { OVERFLOWED: 'overflowing' } },
        overflowing: {
          entry: 'holdTunnel',
          exit: 'releaseTunnel',
          on: { DRAINED: 'flowing' },
          after: { overflowGrace: { target: '#connection.closed', actions: ['recordEviction', 'evict'] } },
        },
      },
      on: {
        CLOSE_REQUESTED: {
          target: 'closing',
          actions: [{ type: 'record', params: 'near' }, 'requestFarClose'],
        },
        FAR_END_CLOSED: {
          target: 'closed',
          actions: [{ type: 'record', params: 'far' }, 'notifyNearClosed'],
        },
        TUNNEL_LOST: { target: 'closed', actions: [{ type: 'record', params: 'lost' }, 'abortBoth'] },
      },
    },
    closing: {
      on: {
        FAR_END_CLOSED: { target: 'closed', actions: 'notifyNearClosed' },
        TUNNEL_LOST: { target: 'closed', actions: 'abortBoth' },
      },
      after: { closeConfirmTimeout: { target: 'closed', actions: ['notifyNearClosed', 'abortBoth'] } },
    },
    closed: { type: 'final' },
  },
  output: ({ context }) => ({ closedBy: context.closedBy ?? 'lost', reason: context.reason ?? 'unknown' }),
});
