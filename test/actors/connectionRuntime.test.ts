/**
 * ConnectionRuntime against XState's interpreter running the connection machine it stands in for: every
 * sequence of events and expired delays up to DEPTH long, with and without a dial timeout, must give the
 * same effects in the same order with the same context, the same state after each step, and the same
 * end. The machine's definition is the specification; this is what keeps the runtime to it.
 */
import { createActor, SimulatedClock } from 'xstate';
import { ConnectionRuntime } from '../../src/actors/connectionRuntime';
import type { ConnectionPort } from '../../src/actors/machines';
import {
  CLOSE_CONFIRM_TIMEOUT_MS,
  connectionEffects,
  connectionMachine,
  type ConnectionEvent,
} from '../../src/machines/connection.machine';
import { OVERFLOW_GRACE_MS } from '../../src/protocol/flowControl';

/** Steps after the start; the last one lets whichever delay is pending run out. */
type Step = ConnectionEvent | { type: 'TICK' };
const STEPS: readonly Step[] = [
  { type: 'DIAL_SUCCEEDED', connectID: '7' },
  { type: 'DIAL_FAILED', error: 'connection refused' },
  { type: 'CANCEL' },
  { type: 'CLOSE_REQUESTED', reason: 'frontend closed' },
  { type: 'FAR_END_CLOSED', reason: 'endpoint closed' },
  { type: 'TUNNEL_LOST', reason: 'stream ended' },
  { type: 'OVERFLOWED' },
  { type: 'DRAINED' },
  { type: 'TICK' },
];
const DEPTH = 5;
const DIAL_TIMEOUT_MS = 1_000;
const TICK_MS = Math.max(DIAL_TIMEOUT_MS, OVERFLOW_GRACE_MS, CLOSE_CONFIRM_TIMEOUT_MS) + 1;
const EFFECTS = Object.keys(connectionEffects) as (keyof typeof connectionEffects)[];

/** What one run did: each effect with the context it saw, each state, and how it ended. */
interface Trace {
  lines: string[];
  done: boolean;
}

/** An effect that sends its own actor an event at once, as a port may (a dial that fails synchronously). */
interface Reentry {
  effect: keyof typeof connectionEffects;
  send: ConnectionEvent;
}

function recordingPort(trace: Trace, send: (e: ConnectionEvent) => void, reentry?: Reentry) {
  const port: Record<string, (args: { context: unknown }) => void> = {};
  for (const name of EFFECTS) {
    port[name] = ({ context }) => {
      trace.lines.push(`${name} ${JSON.stringify(context)}`);
      if (reentry?.effect === name) send(reentry.send);
    };
  }
  return port;
}

/** An actor under test, whichever runs it. */
interface Driven {
  send(event: ConnectionEvent): void;
  getSnapshot(): { value: unknown; status: string; output?: unknown };
}

type Port = Record<string, (args: { context: unknown }) => void>;

/**
 * Makes an actor with a recording port, starts it (it is known before it starts, so an effect of its start
 * can send it events), takes `steps`, and notes each state and the output.
 */
function drive(
  steps: readonly Step[],
  reentry: Reentry | undefined,
  make: (port: Port, clock: SimulatedClock, trace: Trace) => { actor: Driven; start(): void },
): Trace {
  const trace: Trace = { lines: [], done: false };
  const clock = new SimulatedClock();
  const ref: { actor?: Driven } = {};
  const made = make(
    recordingPort(trace, (e) => ref.actor?.send(e), reentry),
    clock,
    trace,
  );
  const actor = (ref.actor = made.actor);
  made.start();
  const note = (): void => {
    const s = actor.getSnapshot();
    trace.lines.push(`state ${JSON.stringify(s.value)} ${s.status}`);
  };
  note();
  for (const step of steps) {
    if (step.type === 'TICK') clock.increment(TICK_MS);
    else actor.send(step);
    note();
  }
  const s = actor.getSnapshot();
  if (s.status === 'done') trace.lines.push(`output ${JSON.stringify(s.output)}`);
  return trace;
}

function viaXState(timeoutMs: number, steps: readonly Step[], reentry?: Reentry): Trace {
  return drive(steps, reentry, (port, clock, trace) => {
    const machine = connectionMachine.provide({
      actions: Object.fromEntries(EFFECTS.map((name) => [name, port[name]])),
    });
    const actor = createActor(machine, { input: { timeoutMs }, clock });
    actor.subscribe({ complete: () => (trace.done = true), error: () => {} });
    return { actor, start: () => actor.start() };
  });
}

function viaRuntime(timeoutMs: number, steps: readonly Step[], reentry?: Reentry): Trace {
  return drive(steps, reentry, (port, clock, trace) => {
    const actor = new ConnectionRuntime(port as unknown as ConnectionPort, timeoutMs, clock);
    return {
      actor,
      start: () => actor.start({ complete: () => (trace.done = true), error: () => {} }),
    };
  });
}

/** Every sequence of STEPS up to `depth` long, not extended past the end of the machine. */
function* sequences(timeoutMs: number, depth: number, prefix: Step[] = []): Generator<Step[]> {
  yield prefix;
  if (prefix.length === depth || viaXState(timeoutMs, prefix).done) return;
  for (const step of STEPS) yield* sequences(timeoutMs, depth, [...prefix, step]);
}

describe('ConnectionRuntime runs the connection machine as XState does', () => {
  for (const timeoutMs of [0, DIAL_TIMEOUT_MS]) {
    it(`on every sequence of up to ${DEPTH} events and expired delays (dial timeout ${timeoutMs} ms)`, () => {
      let compared = 0;
      const states = new Set<string>();
      for (const steps of sequences(timeoutMs, DEPTH)) {
        const expected = viaXState(timeoutMs, steps);
        const actual = viaRuntime(timeoutMs, steps);
        const label = steps.map((s) => s.type).join(' ') || '(start)';
        expect({ label, ...actual }).toEqual({ label, ...expected });
        for (const line of expected.lines) if (line.startsWith('state ')) states.add(line);
        compared++;
      }
      // Every state, final ones included, was reached: the walk covered the machine.
      const values = [...states].map((line) => line.split(' ')[1]);
      for (const state of ['"closing"', '"failed"', '"cancelled"', '"peerLost"', '"closed"'])
        expect(values).toContain(state);
      expect(values).toContain('{"open":"overflowing"}');
      expect(values).toContain(timeoutMs > 0 ? '"timedOut"' : '{"dialing":"untimed"}');
      expect(compared).toBeGreaterThan(1_000);
    });
  }

  const reentries: Reentry[] = [
    { effect: 'startDial', send: { type: 'DIAL_FAILED', error: 'bad address' } },
    { effect: 'startDial', send: { type: 'DIAL_SUCCEEDED', connectID: '3' } },
    { effect: 'reportEstablished', send: { type: 'FAR_END_CLOSED', reason: 'endpoint closed' } },
    { effect: 'requestFarClose', send: { type: 'FAR_END_CLOSED', reason: 'endpoint closed' } },
    { effect: 'holdTunnel', send: { type: 'DRAINED' } },
  ];
  for (const reentry of reentries) {
    it(`handles ${reentry.send.type} sent from ${reentry.effect} after the event that ran it`, () => {
      for (const timeoutMs of [0, DIAL_TIMEOUT_MS]) {
        const steps: Step[] = [
          { type: 'DIAL_SUCCEEDED', connectID: '7' },
          { type: 'OVERFLOWED' },
          { type: 'CLOSE_REQUESTED', reason: 'frontend closed' },
          { type: 'TICK' },
        ];
        const reentered = viaRuntime(timeoutMs, steps, reentry);
        expect(reentered).toEqual(viaXState(timeoutMs, steps, reentry));
        // The event sent from the effect made a difference: it was not dropped on either side.
        expect(reentered).not.toEqual(viaRuntime(timeoutMs, steps));
      }
    });
  }

  it('stops as XState does: no effect, the delay cancelled, the observer told it completed', () => {
    const calls: string[] = [];
    const port = Object.fromEntries(
      EFFECTS.map((name) => [name, () => calls.push(name)]),
    ) as unknown as ConnectionPort;
    const clock = new SimulatedClock();
    let completed = 0;
    const runtime = new ConnectionRuntime(port, DIAL_TIMEOUT_MS, clock);
    runtime.start({ complete: () => completed++, error: () => {} });
    runtime.stop();
    clock.increment(TICK_MS);
    runtime.send({ type: 'DIAL_SUCCEEDED', connectID: '1' });
    expect(calls).toEqual(['startDial']);
    expect(runtime.getSnapshot().status).toBe('stopped');
    expect(completed).toBe(1);
  });

  it('ends in error when an effect throws, and tells the observer instead of throwing', () => {
    const port = Object.fromEntries(
      EFFECTS.map((name) => [
        name,
        () => {
          if (name === 'reportEstablished') throw new Error('broken port');
        },
      ]),
    ) as unknown as ConnectionPort;
    const errors: unknown[] = [];
    const runtime = new ConnectionRuntime(port, 0, new SimulatedClock());
    runtime.start({ complete: () => {}, error: (err) => errors.push(err) });
    runtime.send({ type: 'DIAL_SUCCEEDED', connectID: '1' });
    expect(runtime.getSnapshot().status).toBe('error');
    expect(errors).toEqual([new Error('broken port')]);
  });

  it('reports its snapshots to an inspector watching it, with XState-shaped values', () => {
    const port = Object.fromEntries(EFFECTS.map((name) => [name, () => {}])) as unknown as ConnectionPort;
    const runtime = new ConnectionRuntime(port, 0, new SimulatedClock());
    runtime.start({ complete: () => {}, error: () => {} });
    const seen: unknown[] = [];
    const watch = runtime.system.inspect((event) => {
      if (event.type === '@xstate.snapshot' && event.actorRef === (runtime as unknown))
        seen.push([event.event.type, (event.snapshot as unknown as { value: unknown }).value]);
    });
    runtime.send({ type: 'DIAL_SUCCEEDED', connectID: '1' });
    watch.unsubscribe();
    runtime.send({ type: 'CLOSE_REQUESTED', reason: 'done' });
    expect(seen).toEqual([['DIAL_SUCCEEDED', { open: 'flowing' }]]);
    expect(runtime.sessionId).toMatch(/^r:\d+$/);
  });
});
