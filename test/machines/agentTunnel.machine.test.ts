import { getInitialSnapshot, transition } from 'xstate';
import { agentTunnelMachine } from '../../src/machines/agentTunnel.machine';

const effects = (actions: readonly { type: string }[]): string[] =>
  actions.map((a) => a.type).filter((t) => !t.startsWith('xstate.') && t !== 'recordReason');
const ready = () => getInitialSnapshot(agentTunnelMachine, { agentId: 'node-1', streamId: 'node-1#1' });

describe('agent tunnel machine', () => {
  it('is ready on creation', () => {
    expect(ready().value).toBe('ready');
  });

  it('DRAIN marks it draining', () => {
    const [draining, actions] = transition(agentTunnelMachine, ready(), { type: 'DRAIN' });
    expect(draining.value).toBe('draining');
    expect(effects(actions)).toEqual(['markDraining']);
  });

  it.each(['ready', 'draining'])('disconnecting from %s releases everything it owned and ends', (from) => {
    const start = from === 'ready' ? ready() : transition(agentTunnelMachine, ready(), { type: 'DRAIN' })[0];
    const [closed, actions] = transition(agentTunnelMachine, start, { type: 'DISCONNECTED', reason: 'EOF' });
    expect(closed.status).toBe('done');
    expect(closed.context.disconnectReason).toBe('EOF');
    expect(effects(actions)).toEqual(['releaseAll']);
  });
});
