import { getInitialSnapshot, transition, type AnyMachineSnapshot } from 'xstate';
import { backoffDelayMs, serverLinkMachine } from '../../src/machines/serverLink.machine';
import { timerFires } from './delays';

const input = { address: '127.0.0.1:8091', syncIntervalMs: 1000, syncIntervalCapMs: 10_000 };
const effects = (actions: readonly { type: string }[]): string[] =>
  actions
    .map((a) => a.type)
    .filter((t) => !t.startsWith('xstate.') && !['onFailure', 'onDown', 'onUp', 'setDraining'].includes(t));
const connecting = (draining = false): AnyMachineSnapshot =>
  getInitialSnapshot(serverLinkMachine, { ...input, draining });

describe('server link machine (agent side)', () => {
  it('backs off like the reference: 1 s, x1.5, capped at 10 s, plus up to 10% jitter', () => {
    expect([0, 1, 2, 3, 10].map((n) => backoffDelayMs(1000, 10_000, n, 0))).toEqual([
      1000, 1500, 2250, 3375, 10_000,
    ]);
    expect(backoffDelayMs(1000, 10_000, 0, 0.999)).toBe(1100);
    expect(backoffDelayMs(1000, 10_000, 20, 0.5)).toBe(10_500);
  });

  it('consecutive failures grow the delay; a success resets it', () => {
    let s = connecting();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      [s] = transition(serverLinkMachine, s, { type: 'LINK_FAILED', error: 'refused', jitter: 0 });
      expect(s.value).toBe('backoff');
      delays.push((s.context as { nextDelayMs: number }).nextDelayMs);
      [s] = transition(serverLinkMachine, s, timerFires(serverLinkMachine, 'serverLink.backoff', 'backoff'));
      expect(s.value).toBe('connecting');
    }
    expect(delays).toEqual([1000, 1500, 2250, 3375]);
    [s] = transition(serverLinkMachine, s, { type: 'LINK_UP', serverId: 's1', serverCount: 1 });
    expect(s.context.failures).toBe(0);
    [s] = transition(serverLinkMachine, s, { type: 'LINK_DOWN', reason: 'EOF', jitter: 0 });
    expect(s.value).toBe('backoff');
    expect(s.context.nextDelayMs).toBe(1000);
  });

  it('serves once up, and releases its endpoints when the link goes down', () => {
    const [up, a1] = transition(serverLinkMachine, connecting(), {
      type: 'LINK_UP',
      serverId: 's1',
      serverCount: 3,
    });
    expect(up.value).toEqual({ connected: 'serving' });
    expect(up.context).toMatchObject({ serverId: 's1', serverCount: 3 });
    expect(effects(a1)).toEqual(['linkReady']);
    const [down, a2] = transition(serverLinkMachine, up, { type: 'LINK_DOWN', reason: 'EOF', jitter: 0 });
    expect(effects(a2)).toEqual(['releaseAll']);
    expect(down.context.serverId).toBeNull();
  });

  it('DRAIN while serving sends DRAIN; a link made after draining announces it on connect', () => {
    const [up] = transition(serverLinkMachine, connecting(), {
      type: 'LINK_UP',
      serverId: 's1',
      serverCount: 1,
    });
    const [draining, a1] = transition(serverLinkMachine, up, { type: 'DRAIN_REQUESTED' });
    expect(draining.value).toEqual({ connected: 'draining' });
    expect(effects(a1)).toEqual(['sendDrain']);
    const [upDraining, a2] = transition(serverLinkMachine, connecting(true), {
      type: 'LINK_UP',
      serverId: 's2',
      serverCount: 1,
    });
    expect(upDraining.value).toEqual({ connected: 'draining' });
    expect(effects(a2)).toEqual(['linkReady', 'sendDrain']);
  });

  it('a duplicate server id retires the link for good', () => {
    const [up] = transition(serverLinkMachine, connecting(), {
      type: 'LINK_UP',
      serverId: 's1',
      serverCount: 1,
    });
    const [retired, actions] = transition(serverLinkMachine, up, { type: 'RETIRE', reason: 'duplicate' });
    expect(retired.status).toBe('done');
    expect(effects(actions)).toEqual(['releaseAll', 'closeLink']);
  });

  it('STOP ends it from any state', () => {
    const [fromConnecting] = transition(serverLinkMachine, connecting(), { type: 'STOP' });
    expect(fromConnecting.status).toBe('done');
    const [backoff] = transition(serverLinkMachine, connecting(), {
      type: 'LINK_FAILED',
      error: 'x',
      jitter: 0,
    });
    const [fromBackoff] = transition(serverLinkMachine, backoff, { type: 'STOP' });
    expect(fromBackoff.status).toBe('done');
  });
});

describe('server link machine: one-shot links of the sync loop', () => {
  const oneShot = (): AnyMachineSnapshot =>
    getInitialSnapshot(serverLinkMachine, { ...input, oneShot: true });
  it('ends instead of backing off when the connect fails', () => {
    const [s] = transition(serverLinkMachine, oneShot(), {
      type: 'LINK_FAILED',
      error: 'refused',
      jitter: 0,
    });
    expect(s.value).toBe('ended');
    expect(s.status).toBe('done');
  });
  it('ends, releasing its endpoints, when its stream ends', () => {
    const [up] = transition(serverLinkMachine, oneShot(), {
      type: 'LINK_UP',
      serverId: 's1',
      serverCount: 3,
    });
    const [s, actions] = transition(serverLinkMachine, up, { type: 'LINK_DOWN', reason: 'EOF', jitter: 0 });
    expect(s.value).toBe('ended');
    expect(actions.map((a) => a.type)).toContain('releaseAll');
  });
});
