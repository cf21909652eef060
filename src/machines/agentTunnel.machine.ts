/**
 * The server's view of one agent stream (one AgentService/Connect call). A tunnel is ready for dials until
 * the agent says DRAIN, and ends exactly once; ending releases every dial and connection it carried.
 */
import { assign, setup } from 'xstate';
import { effect, type Effects } from './effects';

export interface AgentTunnelContext {
  readonly agentId: string;
  readonly streamId: string;
  readonly disconnectReason: string | null;
}

export type AgentTunnelEvent = { type: 'DRAIN' } | { type: 'DISCONNECTED'; reason: string };

/** What an actor running this machine must do (see effects.ts). */
export const agentTunnelEffects = {
  /** Stop offering this tunnel to new dials (it stays usable when nothing else is left). */
  markDraining: effect,
  /** Fail pending dials and end connections that this tunnel carried. */
  releaseAll: effect,
} satisfies Effects;

export const agentTunnelMachine = setup({
  types: {
    context: {} as AgentTunnelContext,
    events: {} as AgentTunnelEvent,
    input: {} as { agentId: string; streamId: string },
  },
  actions: {
    ...agentTunnelEffects,
    recordReason: assign({
      disconnectReason: ({ event }) => (event.type === 'DISCONNECTED' ? event.reason : null),
    }),
  },
}).createMachine({
  id: 'agentTunnel',
  context: ({ input }) => ({ ...input, disconnectReason: null }),
  initial: 'ready',
  states: {
    ready: {
      on: {
        DRAIN: { target: 'draining', actions: 'markDraining' },
        DISCONNECTED: { target: 'closed', actions: 'recordReason' },
      },
    },
    draining: {
      on: { DISCONNECTED: { target: 'closed', actions: 'recordReason' } },
    },
    closed: { type: 'final', entry: 'releaseAll' },
  },
});
