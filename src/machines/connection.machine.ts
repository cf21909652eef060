/**
 * One connection through a tunnel, on either side, from the moment its dial is requested until it has
 * ended: first the dial (server: DIAL_REQ forwarded to an agent, waiting for DIAL_RSP; agent: the TCP
 * connect to the destination), then, once the dial is established, the data stream it carries. "Near" is
 * the side that asked for it (server: the frontend; agent: the server) and "far" the side that carries it
 * out (server: the agent; agent: the endpoint socket).
 *
 * One machine, not a dial machine followed by a connection machine: an actor costs more to create and to
 * end than its transitions cost to run, and a dial is one actor per side this way (see
 * docs/benchmarks.md, "One actor per dial"). Bytes never pass through it: it only models how the dial
 * ended, who closed what, and whether the connection's sink has fallen so far behind that it holds up the
 * shared stream. Every way it ends is a final state, so a connection always ends, exactly once, with an
 * outcome, and its owner can collect it. Effects are named actions; the actors provide them.
 */
import { assign, setup } from 'xstate';
import { effect, type Effects } from './effects';
import { OVERFLOW_GRACE_MS } from '../protocol/flowControl';

/** How the dial ended: `established` is the one outcome after which the connection carries data. */
export type DialOutcome = 'established' | 'failed' | 'cancelled' | 'timedOut' | 'peerLost';

/**
 * What ended an established connection, in the machine's side-neutral words: the near side, the far side,
 * the loss of what carried it, or eviction of a stalled sink. Each actor maps these to its side's metric
 * reason and to the events' CloseInitiator (`frontend`, `agent`, `endpoint`, `server`), which names the
 * process.
 */
export type ConnectionCloser = 'near' | 'far' | 'lost' | 'evicted';

/**
 * What the machine decides on. Who the connection is for and where it goes are its owner's (an inspector
 * asks the owner), so every open connection does not carry them twice.
 */
export interface ConnectionContext {
  /** 0 = no dial timeout from this side (the server without --backend-dial-timeout). */
  readonly timeoutMs: number;
  readonly connectID: string | null;
  /** Why the dial failed (the far side's text, the loss reason, or the timeout). */
  readonly error: string | null;
  readonly outcome: DialOutcome | null;
  readonly closedBy: ConnectionCloser | null;
  readonly reason: string | null;
}

export type ConnectionEvent =
  | { type: 'DIAL_SUCCEEDED'; connectID: string }
  | { type: 'DIAL_FAILED'; error: string }
  /** The requester gave up on the dial (DIAL_CLS, or the frontend stream ended before the dial did). */
  | { type: 'CANCEL' }
  /** The near side wants it closed (server: CLOSE_REQ or frontend gone; agent: CLOSE_REQ from the server). */
  | { type: 'CLOSE_REQUESTED'; reason: string }
  /** The far side has closed (server: CLOSE_RSP from the agent; agent: endpoint EOF or error). */
  | { type: 'FAR_END_CLOSED'; reason: string }
  /** What carried the connection is gone (server: the agent's stream; agent: the server link). */
  | { type: 'TUNNEL_LOST'; reason: string }
  /** The local sink holds more than the overflow limit / is back under the drained mark. */
  | { type: 'OVERFLOWED' }
  | { type: 'DRAINED' };

export interface ConnectionInput {
  timeoutMs: number;
}

export interface ConnectionOutput {
  outcome: DialOutcome;
  connectID: string | null;
  error: string | null;
  /** Set when the dial was established: how the connection ended. */
  closedBy: ConnectionCloser | null;
  reason: string | null;
}

/**
 * How long to wait for the far side to confirm a close before forgetting the connection anyway. The
 * reference waits forever; a peer that never answers must not pin the connection's resources.
 */
export const CLOSE_CONFIRM_TIMEOUT_MS = 10_000;

/** What an actor running this machine must do (see effects.ts). */
export const connectionEffects = {
  /** Start the dial (server: send DIAL_REQ to the agent; agent: open the TCP connection). */
  startDial: effect,
  /**
   * The dial has an outcome, whichever it is (the server gives back its admission slot). Runs before the
   * outcome's own effect.
   */
  dialSettled: effect,
  /**
   * The dial worked: tell the requester (server: DIAL_RSP / 200 to the frontend; agent: DIAL_RSP to the
   * server) and start carrying data.
   */
  reportEstablished: effect,
  /**
   * One action per way a dial can fail, so that the actor never has to work out which one happened:
   * the far side answered with an error (its text is in context) ...
   */
  reportRefused: effect,
  /** ... this side's timeout ran out ... */
  reportTimedOut: effect,
  /** ... or the far side went away (the loss reason is in context). */
  reportPeerLost: effect,
  /** The requester gave up: recorded, nobody is told. */
  reportCancelled: effect,
  /** Stop the dial still in flight (server: DIAL_CLS to the agent; agent: destroy the socket). */
  abandonDial: effect,
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
    input: {} as ConnectionInput,
    output: {} as ConnectionOutput,
  },
  actions: {
    ...connectionEffects,
    recordConnectID: assign({
      connectID: ({ event }) => (event.type === 'DIAL_SUCCEEDED' ? event.connectID : null),
      outcome: 'established',
    }),
    recordError: assign({ error: ({ event }) => (event.type === 'DIAL_FAILED' ? event.error : null) }),
    recordLoss: assign({ error: ({ event }) => (event.type === 'TUNNEL_LOST' ? event.reason : null) }),
    recordTimeout: assign({ error: () => 'dial timeout' }),
    recordOutcome: assign({ outcome: (_, outcome: DialOutcome) => outcome }),
    recordClose: assign({
      closedBy: ({ context }, by: ConnectionCloser) => context.closedBy ?? by,
      reason: ({ context, event }) => context.reason ?? ('reason' in event ? event.reason : null),
    }),
    recordEviction: assign({
      closedBy: ({ context }) => context.closedBy ?? 'evicted',
      reason: ({ context }) => context.reason ?? 'buffer-overflow',
    }),
  },
  guards: {
    hasTimeout: ({ context }) => context.timeoutMs > 0,
  },
  delays: {
    dialTimeout: ({ context }) => context.timeoutMs,
    closeConfirmTimeout: CLOSE_CONFIRM_TIMEOUT_MS,
    overflowGrace: OVERFLOW_GRACE_MS,
  },
}).createMachine({
  id: 'connection',
  // Spelled out rather than spread from input: the spread was 5 us of each dial's CPU (profiled).
  context: ({ input }) => ({
    timeoutMs: input.timeoutMs,
    connectID: null,
    error: null,
    outcome: null,
    closedBy: null,
    reason: null,
  }),
  initial: 'dialing',
  states: {
    dialing: {
      entry: 'startDial',
      exit: 'dialSettled',
      initial: 'starting',
      states: {
        starting: { always: [{ guard: 'hasTimeout', target: 'timed' }, { target: 'untimed' }] },
        timed: {
          after: {
            dialTimeout: {
              target: '#connection.timedOut',
              actions: ['recordTimeout', 'abandonDial', 'reportTimedOut'],
            },
          },
        },
        untimed: {},
      },
      on: {
        DIAL_SUCCEEDED: { target: 'open', actions: ['recordConnectID', 'reportEstablished'] },
        DIAL_FAILED: { target: 'failed', actions: ['recordError', 'reportRefused'] },
        CANCEL: { target: 'cancelled', actions: ['abandonDial', 'reportCancelled'] },
        TUNNEL_LOST: { target: 'peerLost', actions: ['recordLoss', 'abandonDial', 'reportPeerLost'] },
      },
    },
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
          actions: [{ type: 'recordClose', params: 'near' }, 'requestFarClose'],
        },
        FAR_END_CLOSED: {
          target: 'closed',
          actions: [{ type: 'recordClose', params: 'far' }, 'notifyNearClosed'],
        },
        TUNNEL_LOST: { target: 'closed', actions: [{ type: 'recordClose', params: 'lost' }, 'abortBoth'] },
      },
    },
    closing: {
      on: {
        FAR_END_CLOSED: { target: 'closed', actions: 'notifyNearClosed' },
        TUNNEL_LOST: { target: 'closed', actions: 'abortBoth' },
      },
      after: { closeConfirmTimeout: { target: 'closed', actions: ['notifyNearClosed', 'abortBoth'] } },
    },
    // The dial's outcomes other than `established` end the connection before it carried anything.
    failed: { type: 'final', entry: { type: 'recordOutcome', params: 'failed' } },
    cancelled: { type: 'final', entry: { type: 'recordOutcome', params: 'cancelled' } },
    peerLost: { type: 'final', entry: { type: 'recordOutcome', params: 'peerLost' } },
    timedOut: { type: 'final', entry: { type: 'recordOutcome', params: 'timedOut' } },
    closed: { type: 'final' },
  },
  output: ({ context }) => ({
    outcome: context.outcome ?? 'failed',
    connectID: context.connectID,
    error: context.error,
    closedBy: context.outcome === 'established' ? (context.closedBy ?? 'lost') : null,
    reason: context.outcome === 'established' ? (context.reason ?? 'unknown') : null,
  }),
});
