/**
 * The agent's server sync loop (the reference's ClientSet.sync): every sync interval, when it holds fewer
 * distinct servers than the servers advertise (or always, with --sync-forever), it dials the server address
 * once more; through a load balancer each dial may reach another server. A failed or duplicate dial backs
 * off (x1.5, 10% jitter, capped); a new server resets the interval. Pure: the probe's outcome and the jitter
 * sample arrive as events.
 */
import { assign, setup } from 'xstate';
import { effect, type Effects } from './effects';
import { backoffDelayMs } from './serverLink.machine';

export interface SyncLoopContext {
  readonly syncIntervalMs: number;
  readonly syncIntervalCapMs: number;
  readonly syncForever: boolean;
  readonly held: number;
  /** What the servers advertise (`servercount`); 0 until a server has told us. */
  readonly serverCount: number;
  readonly failures: number;
  readonly nextDelayMs: number;
}

export type SyncLoopEvent =
  | { type: 'HELD_CHANGED'; held: number; serverCount: number }
  /** `outcome`: a new server was added, the dial reached one we hold already, or it failed. */
  | { type: 'PROBE_DONE'; outcome: 'new-server' | 'duplicate' | 'failed'; jitter: number }
  | { type: 'STOP' };

export interface SyncLoopInput {
  syncIntervalMs: number;
  syncIntervalCapMs: number;
  syncForever: boolean;
}

/** What an actor running this machine must do (see effects.ts). */
export const syncLoopEffects = {
  /** Dial the server address once (a new link that ends when its stream ends). */
  probe: effect,
} satisfies Effects;

export const syncLoopMachine = setup({
  types: {
    context: {} as SyncLoopContext,
    events: {} as SyncLoopEvent,
    input: {} as SyncLoopInput,
  },
  actions: {
    ...syncLoopEffects,
    track: assign(({ event }) =>
      event.type === 'HELD_CHANGED' ? { held: event.held, serverCount: event.serverCount } : {},
    ),
    settle: assign(({ context, event }) => {
      if (event.type !== 'PROBE_DONE') return {};
      if (event.outcome === 'new-server') {
        return {
          failures: 0,
          nextDelayMs: backoffDelayMs(context.syncIntervalMs, context.syncIntervalCapMs, 0, event.jitter),
        };
      }
      return {
        failures: context.failures + 1,
        nextDelayMs: backoffDelayMs(
          context.syncIntervalMs,
          context.syncIntervalCapMs,
          context.failures + 1,
          event.jitter,
        ),
      };
    }),
    rest: assign(({ context }) => ({ failures: 0, nextDelayMs: context.syncIntervalMs })),
  },
  guards: {
    /** Before the first server answers we do not know the count: one server is always needed. */
    needsMore: ({ context }) => context.syncForever || context.held < Math.max(1, context.serverCount),
  },
  delays: {
    syncDelay: ({ context }) => context.nextDelayMs,
  },
}).createMachine({
  id: 'syncLoop',
  context: ({ input }) => ({ ...input, held: 0, serverCount: 0, failures: 0, nextDelayMs: 0 }),
  initial: 'deciding',
  on: {
    HELD_CHANGED: { actions: 'track' },
    STOP: '.stopped',
  },
  states: {
    deciding: {
      always: [
        { guard: 'needsMore', target: 'probing' },
        { target: 'waiting', actions: 'rest' },
      ],
    },
    probing: {
      entry: 'probe',
      on: { PROBE_DONE: { target: 'waiting', actions: 'settle' } },
    },
    waiting: {
      after: { syncDelay: 'deciding' },
    },
    stopped: { type: 'final' },
  },
});
