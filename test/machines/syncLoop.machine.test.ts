import { getInitialSnapshot, transition, type AnyMachineSnapshot } from 'xstate';
import { syncLoopMachine } from '../../src/machines/syncLoop.machine';
import { timerFires } from './delays';

const effects = (actions: readonly { type: string }[]): string[] =>
  actions.map((a) => a.type).filter((t) => t === 'probe');
const start = (syncForever = false): AnyMachineSnapshot =>
  getInitialSnapshot(syncLoopMachine, { syncIntervalMs: 1000, syncIntervalCapMs: 10_000, syncForever });
const tick = (s: AnyMachineSnapshot) =>
  transition(syncLoopMachine, s, timerFires(syncLoopMachine, 'syncLoop.waiting', 'syncDelay'));
const ctx = (s: AnyMachineSnapshot) => s.context as { nextDelayMs: number; failures: number };

describe('sync loop machine (the agent keeping servercount servers)', () => {
  it('probes at once: one server is always needed', () => {
    expect(start().value).toBe('probing');
  });

  it('keeps probing after a new server while fewer than servercount are held', () => {
    let [s] = transition(syncLoopMachine, start(), { type: 'HELD_CHANGED', held: 1, serverCount: 3 });
    [s] = transition(syncLoopMachine, s, { type: 'PROBE_DONE', outcome: 'new-server', jitter: 0 });
    expect(s.value).toBe('waiting');
    expect(ctx(s).nextDelayMs).toBe(1000);
    const [next, actions] = tick(s);
    expect(next.value).toBe('probing');
    expect(effects(actions)).toEqual(['probe']);
  });

  it('backs off after duplicates and failures, and resets after a new server', () => {
    let s = start();
    const delays: number[] = [];
    for (const outcome of ['duplicate', 'failed', 'duplicate'] as const) {
      [s] = transition(syncLoopMachine, s, { type: 'PROBE_DONE', outcome, jitter: 0 });
      delays.push(ctx(s).nextDelayMs);
      [s] = tick(s);
    }
    expect(delays).toEqual([1500, 2250, 3375]);
    [s] = transition(syncLoopMachine, s, { type: 'PROBE_DONE', outcome: 'new-server', jitter: 0 });
    expect(ctx(s)).toMatchObject({ failures: 0, nextDelayMs: 1000 });
  });

  it('rests while every advertised server is held, and probes again when one is lost', () => {
    let [s] = transition(syncLoopMachine, start(), { type: 'HELD_CHANGED', held: 2, serverCount: 2 });
    [s] = transition(syncLoopMachine, s, { type: 'PROBE_DONE', outcome: 'new-server', jitter: 0 });
    const [rested, a1] = tick(s);
    expect(rested.value).toBe('waiting');
    expect(effects(a1)).toEqual([]);
    const [lost] = transition(syncLoopMachine, rested, { type: 'HELD_CHANGED', held: 1, serverCount: 2 });
    const [probing, a2] = tick(lost);
    expect(probing.value).toBe('probing');
    expect(effects(a2)).toEqual(['probe']);
  });

  it('with --sync-forever probes even when every advertised server is held', () => {
    let [s] = transition(syncLoopMachine, start(true), { type: 'HELD_CHANGED', held: 1, serverCount: 1 });
    [s] = transition(syncLoopMachine, s, { type: 'PROBE_DONE', outcome: 'new-server', jitter: 0 });
    const [next, actions] = tick(s);
    expect(next.value).toBe('probing');
    expect(effects(actions)).toEqual(['probe']);
  });

  it('STOP ends it', () => {
    const [s] = transition(syncLoopMachine, start(), { type: 'STOP' });
    expect(s.status).toBe('done');
  });
});
