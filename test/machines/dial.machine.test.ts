import { createActor, getInitialSnapshot, transition, type AnyMachineSnapshot } from 'xstate';
import { dialMachine, type DialEvent } from '../../src/machines/dial.machine';

const input = { random: '8070450532247928832', address: '10.0.0.5:10250', timeoutMs: 0 };

function actionTypes(actions: readonly { type: string }[]): string[] {
  return actions.map((a) => a.type).filter((t) => !t.startsWith('xstate.') && !t.startsWith('record'));
}

function given(timeoutMs = 0): AnyMachineSnapshot {
  return getInitialSnapshot(dialMachine, { ...input, timeoutMs });
}

describe('dial machine', () => {
  it('starts the dial on creation and waits without a timer when no timeout is set', () => {
    const performed: string[] = [];
    const actor = createActor(
      dialMachine.provide({ actions: { startDial: () => performed.push('startDial') } }),
      {
        input,
      },
    ).start();
    expect(actor.getSnapshot().value).toEqual({ pending: 'untimed' });
    expect(performed).toEqual(['startDial']);
    actor.stop();
  });

  it('waits on a timer when a timeout is configured', () => {
    expect(given(5000).value).toEqual({ pending: 'timed' });
  });

  const cases: Array<[string, DialEvent, string, string[]]> = [
    [
      'a successful DIAL_RSP establishes it and reports it',
      { type: 'DIAL_SUCCEEDED', connectID: '7' },
      'established',
      ['reportEstablished'],
    ],
    [
      'a failed DIAL_RSP fails it and reports the error',
      { type: 'DIAL_FAILED', error: 'connection refused' },
      'failed',
      ['reportRefused'],
    ],
    [
      'a cancel abandons it (DIAL_CLS to the agent) and records the cancellation',
      { type: 'CANCEL' },
      'cancelled',
      ['abandonDial', 'reportCancelled'],
    ],
    [
      'losing the peer drops what is in flight and reports the loss, not an error answer',
      { type: 'PEER_LOST', reason: 'agent gone' },
      'peerLost',
      ['abandonDial', 'reportPeerLost'],
    ],
  ];
  it.each(cases)('%s', (_name, event, state, actions) => {
    const [next, executed] = transition(dialMachine, given(), event);
    expect(next.value).toBe(state);
    expect(next.status).toBe('done');
    expect(actionTypes(executed)).toEqual(actions);
  });

  it('keeps the connectID and error in its output', () => {
    const [ok] = transition(dialMachine, given(), { type: 'DIAL_SUCCEEDED', connectID: '7' });
    expect(ok.output).toEqual({ outcome: 'established', connectID: '7', error: null });
    const [bad] = transition(dialMachine, given(), { type: 'DIAL_FAILED', error: 'no such host' });
    expect(bad.output).toEqual({ outcome: 'failed', connectID: null, error: 'no such host' });
  });

  it('names each failure by its own action, with the loss reason already recorded when it runs', () => {
    const seen: Array<[string, string | null]> = [];
    const actor = createActor(
      dialMachine.provide({
        actions: {
          reportPeerLost: ({ context }) => seen.push(['reportPeerLost', context.error]),
          reportRefused: ({ context }) => seen.push(['reportRefused', context.error]),
        },
      }),
      { input },
    ).start();
    actor.send({ type: 'PEER_LOST', reason: 'agent gone' });
    expect(seen).toEqual([['reportPeerLost', 'agent gone']]);
    expect(actor.getSnapshot().output).toEqual({ outcome: 'peerLost', connectID: null, error: 'agent gone' });
  });

  it('ignores a response after it has an outcome (a late DIAL_RSP is the owner’s business)', () => {
    const [cancelled] = transition(dialMachine, given(), { type: 'CANCEL' });
    const [after, actions] = transition(dialMachine, cancelled, { type: 'DIAL_SUCCEEDED', connectID: '9' });
    expect(after.value).toBe('cancelled');
    expect(actionTypes(actions)).toEqual([]);
  });

  it('times out: abandons the dial and reports the failure', () => {
    jest.useFakeTimers();
    try {
      const performed: string[] = [];
      const actor = createActor(
        dialMachine.provide({
          actions: {
            startDial: () => performed.push('startDial'),
            abandonDial: () => performed.push('abandonDial'),
            reportTimedOut: () => performed.push('reportTimedOut'),
            reportRefused: () => performed.push('reportRefused'),
          },
        }),
        { input: { ...input, timeoutMs: 1000 } },
      ).start();
      jest.advanceTimersByTime(999);
      expect(actor.getSnapshot().value).toEqual({ pending: 'timed' });
      jest.advanceTimersByTime(1);
      expect(actor.getSnapshot().value).toBe('timedOut');
      expect(actor.getSnapshot().output).toEqual({
        outcome: 'timedOut',
        connectID: null,
        error: 'dial timeout',
      });
      expect(performed).toEqual(['startDial', 'abandonDial', 'reportTimedOut']);
    } finally {
      jest.useRealTimers();
    }
  });
});
