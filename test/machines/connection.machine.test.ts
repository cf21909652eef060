import { createActor, getInitialSnapshot, transition, type AnyMachineSnapshot } from 'xstate';
import { connectionMachine, type ConnectionEvent } from '../../src/machines/connection.machine';
import { timerFires } from './delays';

const input = { timeoutMs: 0 };

/** The effects an array of executed actions names: XState's own and the context records left out. */
const effects = (actions: readonly { type: string }[]): string[] =>
  actions.map((a) => a.type).filter((t) => !t.startsWith('xstate.') && !t.startsWith('record'));

function dialing(timeoutMs = 0): AnyMachineSnapshot {
  return getInitialSnapshot(connectionMachine, { ...input, timeoutMs });
}

/** A connection whose dial is established, carrying data. */
function open(): AnyMachineSnapshot {
  const [next] = transition(connectionMachine, dialing(), { type: 'DIAL_SUCCEEDED', connectID: '3' });
  return next;
}

describe('connection machine: the dial', () => {
  it('starts the dial on creation and waits without a timer when no timeout is set', () => {
    const performed: string[] = [];
    const actor = createActor(
      connectionMachine.provide({ actions: { startDial: () => performed.push('startDial') } }),
      { input },
    ).start();
    expect(actor.getSnapshot().value).toEqual({ dialing: 'untimed' });
    expect(performed).toEqual(['startDial']);
    actor.stop();
  });

  it('waits on a timer when a timeout is configured', () => {
    expect(dialing(5000).value).toEqual({ dialing: 'timed' });
  });

  const endings: Array<[string, ConnectionEvent, string, string[]]> = [
    [
      'a failed DIAL_RSP fails it and reports the error',
      { type: 'DIAL_FAILED', error: 'connection refused' },
      'failed',
      ['dialSettled', 'reportRefused'],
    ],
    [
      'a cancel abandons it (DIAL_CLS to the agent) and records the cancellation',
      { type: 'CANCEL' },
      'cancelled',
      ['dialSettled', 'abandonDial', 'reportCancelled'],
    ],
    [
      'losing the tunnel drops what is in flight and reports the loss, not an error answer',
      { type: 'TUNNEL_LOST', reason: 'agent gone' },
      'peerLost',
      ['dialSettled', 'abandonDial', 'reportPeerLost'],
    ],
  ];
  it.each(endings)('%s', (_name, event, state, actions) => {
    const [next, executed] = transition(connectionMachine, dialing(), event);
    expect(next.value).toBe(state);
    expect(next.status).toBe('done');
    expect(effects(executed)).toEqual(actions);
  });

  it('a successful DIAL_RSP settles the dial, reports it and opens the connection', () => {
    const [next, executed] = transition(connectionMachine, dialing(), {
      type: 'DIAL_SUCCEEDED',
      connectID: '7',
    });
    expect(next.value).toEqual({ open: 'flowing' });
    expect(next.status).toBe('active');
    expect(effects(executed)).toEqual(['dialSettled', 'reportEstablished']);
    expect(next.context).toMatchObject({ connectID: '7', outcome: 'established' });
  });

  it('keeps the outcome, the connectID and the error in its output', () => {
    const [bad] = transition(connectionMachine, dialing(), { type: 'DIAL_FAILED', error: 'no such host' });
    expect(bad.output).toEqual({
      outcome: 'failed',
      connectID: null,
      error: 'no such host',
      closedBy: null,
      reason: null,
    });
    const [closed] = transition(connectionMachine, open(), { type: 'FAR_END_CLOSED', reason: 'EOF' });
    expect(closed.output).toEqual({
      outcome: 'established',
      connectID: '3',
      error: null,
      closedBy: 'far',
      reason: 'EOF',
    });
  });

  it('names each failure by its own action, with the loss reason already recorded when it runs', () => {
    const seen: Array<[string, string | null]> = [];
    const actor = createActor(
      connectionMachine.provide({
        actions: {
          reportPeerLost: ({ context }) => seen.push(['reportPeerLost', context.error]),
          reportRefused: ({ context }) => seen.push(['reportRefused', context.error]),
        },
      }),
      { input },
    ).start();
    actor.send({ type: 'TUNNEL_LOST', reason: 'agent gone' });
    expect(seen).toEqual([['reportPeerLost', 'agent gone']]);
    expect(actor.getSnapshot().output).toMatchObject({ outcome: 'peerLost', error: 'agent gone' });
  });

  it('ignores a response after it has an outcome (a late DIAL_RSP is the owner’s business)', () => {
    const [cancelled] = transition(connectionMachine, dialing(), { type: 'CANCEL' });
    const [after, actions] = transition(connectionMachine, cancelled, {
      type: 'DIAL_SUCCEEDED',
      connectID: '9',
    });
    expect(after.value).toBe('cancelled');
    expect(effects(actions)).toEqual([]);
  });

  it('ignores close events while dialing, and a cancel once open', () => {
    for (const event of [
      { type: 'CLOSE_REQUESTED', reason: 'x' },
      { type: 'FAR_END_CLOSED', reason: 'x' },
    ] as const) {
      const [still, actions] = transition(connectionMachine, dialing(), event);
      expect(still.value).toEqual({ dialing: 'untimed' });
      expect(effects(actions)).toEqual([]);
    }
    const [still, actions] = transition(connectionMachine, open(), { type: 'CANCEL' });
    expect(still.value).toEqual({ open: 'flowing' });
    expect(effects(actions)).toEqual([]);
  });

  it('times out: settles and abandons the dial and reports the failure', () => {
    jest.useFakeTimers();
    try {
      const performed: string[] = [];
      const record = (name: string) => () => performed.push(name);
      const actor = createActor(
        connectionMachine.provide({
          actions: {
            startDial: record('startDial'),
            dialSettled: record('dialSettled'),
            abandonDial: record('abandonDial'),
            reportTimedOut: record('reportTimedOut'),
            reportRefused: record('reportRefused'),
          },
        }),
        { input: { ...input, timeoutMs: 1000 } },
      ).start();
      jest.advanceTimersByTime(999);
      expect(actor.getSnapshot().value).toEqual({ dialing: 'timed' });
      jest.advanceTimersByTime(1);
      expect(actor.getSnapshot().value).toBe('timedOut');
      expect(actor.getSnapshot().output).toMatchObject({ outcome: 'timedOut', error: 'dial timeout' });
      expect(performed).toEqual(['startDial', 'dialSettled', 'abandonDial', 'reportTimedOut']);
    } finally {
      jest.useRealTimers();
    }
  });

  it('an established dial no longer times out', () => {
    jest.useFakeTimers();
    try {
      const performed: string[] = [];
      const actor = createActor(
        connectionMachine.provide({ actions: { reportTimedOut: () => performed.push('reportTimedOut') } }),
        { input: { ...input, timeoutMs: 1000 } },
      ).start();
      jest.advanceTimersByTime(500);
      actor.send({ type: 'DIAL_SUCCEEDED', connectID: '3' });
      jest.advanceTimersByTime(5000);
      expect(actor.getSnapshot().value).toEqual({ open: 'flowing' });
      expect(performed).toEqual([]);
      actor.stop();
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('connection machine: closing', () => {
  it('near-side close: asks the far side, then tells the near side once it confirms', () => {
    const [closing, a1] = transition(connectionMachine, open(), {
      type: 'CLOSE_REQUESTED',
      reason: 'CLOSE_REQ',
    });
    expect(closing.value).toBe('closing');
    expect(effects(a1)).toEqual(['requestFarClose']);
    const [closed, a2] = transition(connectionMachine, closing, {
      type: 'FAR_END_CLOSED',
      reason: 'CLOSE_RSP',
    });
    expect(closed.status).toBe('done');
    expect(effects(a2)).toEqual(['notifyNearClosed']);
    expect(closed.output).toMatchObject({ closedBy: 'near', reason: 'CLOSE_REQ' });
  });

  it('far-side close: tells the near side at once', () => {
    const [closed, actions] = transition(connectionMachine, open(), {
      type: 'FAR_END_CLOSED',
      reason: 'endpoint EOF',
    });
    expect(closed.status).toBe('done');
    expect(effects(actions)).toEqual(['notifyNearClosed']);
    expect(closed.output).toMatchObject({ closedBy: 'far', reason: 'endpoint EOF' });
  });

  it('tunnel lost: aborts both sides without protocol, whether open or closing', () => {
    const [lost, a1] = transition(connectionMachine, open(), { type: 'TUNNEL_LOST', reason: 'agent gone' });
    expect(lost.status).toBe('done');
    expect(lost.value).toBe('closed');
    expect(effects(a1)).toEqual(['abortBoth']);
    const [closing] = transition(connectionMachine, open(), { type: 'CLOSE_REQUESTED', reason: 'x' });
    const [lost2, a2] = transition(connectionMachine, closing, { type: 'TUNNEL_LOST', reason: 'agent gone' });
    expect(lost2.status).toBe('done');
    expect(effects(a2)).toEqual(['abortBoth']);
    expect(lost2.output).toMatchObject({ outcome: 'established', closedBy: 'near', reason: 'x' });
  });

  it('a second close request while closing does not ask the far side again', () => {
    const [closing] = transition(connectionMachine, open(), { type: 'CLOSE_REQUESTED', reason: 'x' });
    const [still, actions] = transition(connectionMachine, closing, { type: 'CLOSE_REQUESTED', reason: 'y' });
    expect(still.value).toBe('closing');
    expect(effects(actions)).toEqual([]);
  });

  it('gives up waiting for the far side after the close confirmation timeout', () => {
    const [closing] = transition(connectionMachine, open(), { type: 'CLOSE_REQUESTED', reason: 'x' });
    const timeout = timerFires(connectionMachine, 'connection.closing', 'closeConfirmTimeout');
    const [closed, actions] = transition(connectionMachine, closing, timeout);
    expect(closed.status).toBe('done');
    expect(effects(actions)).toEqual(['notifyNearClosed', 'abortBoth']);
  });
});

describe('connection machine: a sink that falls behind', () => {
  it('holds the shared stream while overflowing and releases it once drained', () => {
    const [over, a1] = transition(connectionMachine, open(), { type: 'OVERFLOWED' });
    expect(over.value).toEqual({ open: 'overflowing' });
    expect(effects(a1)).toEqual(['holdTunnel']);
    const [ok, a2] = transition(connectionMachine, over, { type: 'DRAINED' });
    expect(ok.value).toEqual({ open: 'flowing' });
    expect(effects(a2)).toEqual(['releaseTunnel']);
  });

  it('evicts the connection when it stays overflowing for the grace period, releasing the stream', () => {
    const [over] = transition(connectionMachine, open(), { type: 'OVERFLOWED' });
    const [closed, actions] = transition(
      connectionMachine,
      over,
      timerFires(connectionMachine, 'connection.open.overflowing', 'overflowGrace'),
    );
    expect(closed.status).toBe('done');
    expect(effects(actions)).toEqual(['releaseTunnel', 'evict']);
    expect(closed.output).toMatchObject({ closedBy: 'evicted', reason: 'buffer-overflow' });
  });

  it('a close while overflowing releases the stream too', () => {
    const [over] = transition(connectionMachine, open(), { type: 'OVERFLOWED' });
    const [closing, actions] = transition(connectionMachine, over, { type: 'CLOSE_REQUESTED', reason: 'x' });
    expect(closing.value).toBe('closing');
    expect(effects(actions)).toEqual(['releaseTunnel', 'requestFarClose']);
  });
});
