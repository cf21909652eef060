/**
 * One dial, from the moment it is requested until it has an outcome. Used on both sides: the server's
 * pending dial (DIAL_REQ forwarded to an agent, waiting for DIAL_RSP) and the agent's endpoint dial (TCP
 * connect to the destination). Every outcome is a final state, so a dial always has an end and an owner
 * can collect it. Effects are named actions; the actors provide them.
 */
import { assign, setup } from 'xstate';
import { effect, type Effects } from './effects';

export type DialOutcome = 'established' | 'failed' | 'cancelled' | 'timedOut' | 'peerLost';

export interface DialContext {
  /** The frontend's `random`, as a decimal string so snapshots stay JSON-serializable. */
  readonly random: string;
  readonly address: string;
  /** 0 = no timeout from this side (the server without --backend-dial-timeout). */
  readonly timeoutMs: number;
  readonly connectID: string | null;
  readonly error: string | null;
  readonly outcome: DialOutcome | null;
}

export type DialEvent =
  | { type: 'DIAL_SUCCEEDED'; connectID: string }
  | { type: 'DIAL_FAILED'; error: string }
  /** The requester gave up (DIAL_CLS, or the frontend stream ended). */
  | { type: 'CANCEL' }
  /** The far side is gone (server: the agent disconnected; agent: the server link dropped). */
  | { type: 'PEER_LOST'; reason: string };

export interface DialInput {
  random: string;
  address: string;
  timeoutMs: number;
}

export interface DialOutput {
  outcome: DialOutcome;
  connectID: string | null;
  error: string | null;
}

/** What an actor running this machine must do (see effects.ts). */
export const dialEffects = {
  /** Start the dial (server: send DIAL_REQ to the agent; agent: open the TCP connection). */
  startDial: effect,
  /** Tell the requester it worked (server: DIAL_RSP / 200 to the frontend; agent: DIAL_RSP to the server). */
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
  /** Stop what is still in flight (server: DIAL_CLS to the agent; agent: destroy the socket). */
  abandonDial: effect,
} satisfies Effects;

export const dialMachine = setup({
  types: {
    context: {} as DialContext,
    events: {} as DialEvent,
    input: {} as DialInput,
    output: {} as DialOutput,
  },
  actions: {
    ...dialEffects,
    recordConnectID: assign({
      connectID: ({ event }) => (event.type === 'DIAL_SUCCEEDED' ? event.connectID : null),
    }),
    recordError: assign({ error: ({ event }) => (event.type === 'DIAL_FAILED' ? event.error : null) }),
    recordLoss: assign({ error: ({ event }) => (event.type === 'PEER_LOST' ? event.reason : null) }),
    recordTimeout: assign({ error: () => 'dial timeout' }),
    recordOutcome: assign({ outcome: (_, outcome: DialOutcome) => outcome }),
  },
  guards: {
    hasTimeout: ({ context }) => context.timeoutMs > 0,
  },
  delays: {
    dialTimeout: ({ context }) => context.timeoutMs,
  },
}).createMachine({
  id: 'dial',
  // Spelled out rather than spread from input: the spread was 5 us of each dial's CPU (profiled).
  context: ({ input }) => ({
    random: input.random,
    address: input.address,
    timeoutMs: input.timeoutMs,
    connectID: null,
    error: null,
    outcome: null,
  }),
  initial: 'starting',
  states: {
    starting: {
      entry: 'startDial',
      always: [{ guard: 'hasTimeout', target: 'pending.timed' }, { target: 'pending.untimed' }],
    },
    pending: {
      initial: 'untimed',
      on: {
        DIAL_SUCCEEDED: { target: 'established', actions: ['recordConnectID', 'reportEstablished'] },
        DIAL_FAILED: { target: 'failed', actions: ['recordError', 'reportRefused'] },
        CANCEL: { target: 'cancelled', actions: ['abandonDial', 'reportCancelled'] },
        PEER_LOST: { target: 'peerLost', actions: ['recordLoss', 'abandonDial', 'reportPeerLost'] },
      },
      states: {
        timed: {
          after: {
            dialTimeout: {
              target: '#dial.timedOut',
              actions: ['recordTimeout', 'abandonDial', 'reportTimedOut'],
            },
          },
        },
        untimed: {},
      },
    },
    established: { type: 'final', entry: { type: 'recordOutcome', params: 'established' } },
    failed: { type: 'final', entry: { type: 'recordOutcome', params: 'failed' } },
    cancelled: { type: 'final', entry: { type: 'recordOutcome', params: 'cancelled' } },
    peerLost: { type: 'final', entry: { type: 'recordOutcome', params: 'peerLost' } },
    timedOut: { type: 'final', entry: { type: 'recordOutcome', params: 'timedOut' } },
  },
  output: ({ context }) => ({
    outcome: context.outcome ?? 'failed',
    connectID: context.connectID,
    error: context.error,
  }),
});
