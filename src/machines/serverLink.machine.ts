/**
 * The agent's connection to one proxy server, kept up for the life of the agent: connect, serve, and on
 * any loss wait with the reference's backoff (sync interval, x1.5, 10% jitter, capped) and connect again.
 * The jitter sample arrives in the failure event so the machine stays pure and replayable.
 */
import { assign, setup } from 'xstate';
import { effect, type Effects } from './effects';

/** The reference agent's backoff constants (pkg/agent/clientset.go). */
export const BACKOFF_FACTOR = 1.5;
export const BACKOFF_JITTER = 0.1;

export interface ServerLinkContext {
  readonly address: string;
  readonly syncIntervalMs: number;
  readonly syncIntervalCapMs: number;
  /** Consecutive failed attempts since the last successful connection. */
  readonly failures: number;
  readonly nextDelayMs: number;
  readonly serverId: string | null;
  readonly serverCount: number | null;
  /** Once the agent drains, every connection it makes (re)announces DRAIN. */
  readonly draining: boolean;
  readonly lastError: string | null;
  /**
   * A probe of the sync loop: it ends with its stream instead of reconnecting (the loop dials again, and
   * through a load balancer may reach another server). Links to explicitly listed servers reconnect.
   */
  readonly oneShot: boolean;
}

export type ServerLinkEvent =
  | { type: 'LINK_UP'; serverId: string; serverCount: number }
  /** `jitter` is a uniform sample in [0, 1). */
  | { type: 'LINK_FAILED'; error: string; jitter: number }
  | { type: 'LINK_DOWN'; reason: string; jitter: number }
  | { type: 'DRAIN_REQUESTED' }
  /** The client set already holds a link to this server id: this one is surplus. */
  | { type: 'RETIRE'; reason: string }
  | { type: 'STOP' };

export interface ServerLinkInput {
  address: string;
  syncIntervalMs: number;
  syncIntervalCapMs: number;
  draining?: boolean;
  oneShot?: boolean;
}

/** wait.Backoff.Step() of the reference: base * factor^n, capped, plus up to 10% jitter. */
export function backoffDelayMs(baseMs: number, capMs: number, failures: number, jitter: number): number {
  const raw = Math.min(capMs, baseMs * BACKOFF_FACTOR ** failures);
  return Math.round(raw + raw * BACKOFF_JITTER * jitter);
}

/** What an actor running this machine must do (see effects.ts). */
export const serverLinkEffects = {
  /** Dial the server and open AgentService/Connect with our metadata. */
  openLink: effect,
  /** Start serving packets on the link (it has announced serverid/servercount). */
  linkReady: effect,
  /** Send DRAIN on the current link. */
  sendDrain: effect,
  /** End the endpoint connections carried by the lost link. */
  releaseAll: effect,
  /** Close the current stream from our side. */
  closeLink: effect,
} satisfies Effects;

export const serverLinkMachine = setup({
  types: {
    context: {} as ServerLinkContext,
    events: {} as ServerLinkEvent,
    input: {} as ServerLinkInput,
  },
  actions: {
    ...serverLinkEffects,
    onFailure: assign(({ context, event }) => {
      if (event.type !== 'LINK_FAILED') return {};
      return {
        lastError: event.error,
        nextDelayMs: backoffDelayMs(
          context.syncIntervalMs,
          context.syncIntervalCapMs,
          context.failures,
          event.jitter,
        ),
        failures: context.failures + 1,
      };
    }),
    onDown: assign(({ context, event }) => {
      if (event.type !== 'LINK_DOWN') return {};
      return {
        lastError: event.reason,
        failures: 0,
        nextDelayMs: backoffDelayMs(context.syncIntervalMs, context.syncIntervalCapMs, 0, event.jitter),
        serverId: null,
        serverCount: null,
      };
    }),
    onUp: assign(({ event }) =>
      event.type === 'LINK_UP'
        ? { serverId: event.serverId, serverCount: event.serverCount, failures: 0 }
        : {},
    ),
    setDraining: assign({ draining: true }),
  },
  guards: {
    isDraining: ({ context }) => context.draining,
    isOneShot: ({ context }) => context.oneShot,
  },
  delays: {
    backoff: ({ context }) => context.nextDelayMs,
  },
}).createMachine({
  id: 'serverLink',
  context: ({ input }) => ({
    address: input.address,
    syncIntervalMs: input.syncIntervalMs,
    syncIntervalCapMs: input.syncIntervalCapMs,
    failures: 0,
    nextDelayMs: 0,
    serverId: null,
    serverCount: null,
    draining: input.draining ?? false,
    lastError: null,
    oneShot: input.oneShot ?? false,
  }),
  initial: 'connecting',
  on: {
    DRAIN_REQUESTED: { actions: 'setDraining' },
  },
  states: {
    connecting: {
      entry: 'openLink',
      on: {
        LINK_UP: { target: 'connected', actions: 'onUp' },
        LINK_FAILED: [
          { guard: 'isOneShot', target: 'ended', actions: 'onFailure' },
          { target: 'backoff', actions: 'onFailure' },
        ],
        STOP: { target: 'stopped', actions: 'closeLink' },
      },
    },
    connected: {
      entry: 'linkReady',
      initial: 'deciding',
      states: {
        deciding: { always: [{ guard: 'isDraining', target: 'draining' }, { target: 'serving' }] },
        serving: { on: { DRAIN_REQUESTED: { target: 'draining', actions: 'setDraining' } } },
        draining: { entry: 'sendDrain' },
      },
      on: {
        LINK_DOWN: [
          { guard: 'isOneShot', target: 'ended', actions: ['onDown', 'releaseAll'] },
          { target: 'backoff', actions: ['onDown', 'releaseAll'] },
        ],
        RETIRE: { target: 'retired', actions: ['releaseAll', 'closeLink'] },
        STOP: { target: 'stopped', actions: ['releaseAll', 'closeLink'] },
      },
    },
    backoff: {
      after: { backoff: { target: 'connecting' } },
      on: { STOP: { target: 'stopped' } },
    },
    retired: { type: 'final' },
    /** A one-shot link whose stream failed or ended. */
    ended: { type: 'final' },
    stopped: { type: 'final' },
  },
});
