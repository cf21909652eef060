import { getInitialSnapshot, transition, type AnyMachineSnapshot } from 'xstate';
import { connectionMachine, CLOSE_CONFIRM_TIMEOUT_MS } from '../../src/machines/connection.machine';

const open = (): AnyMachineSnapshot => getInitialSnapshot(connectionMachine, { connectID: '3' });
const effects = (actions: readonly { type: string }[]): string[] =>
  actions.map((a) => a.type).filter((t) => !t.startsWith('xstate.') && t !== 'record');

describe('connection machine', () => {
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
    expect(closed.output).toEqual({ closedBy: 'near', reason: 'CLOSE_REQ' });
  });

  it('far-side close: tells the near side at once', () => {
    const [closed, actions] = transition(connectionMachine, open(), {
      type: 'FAR_END_CLOSED',
      reason: 'endpoint EOF',
    });
    expect(closed.status).toBe('done');
    expect(effects(actions)).toEqual(['notifyNearClosed']);
    expect(closed.output).toEqual({ closedBy: 'far', reason: 'endpoint EOF' });
  });

  it('tunnel lost: aborts both sides without protocol, whether open or closing', () => {
    const [lost, a1] = transition(connectionMachine, open(), { type: 'TUNNEL_LOST', reason: 'agent gone' });
    expect(lost.status).toBe('done');
    expect(effects(a1)).toEqual(['abortBoth']);
    const [closing] = transition(connectionMachine, open(), { type: 'CLOSE_REQUESTED', reason: 'x' });
    const [lost2, a2] = transition(connectionMachine, closing, { type: 'TUNNEL_LOST', reason: 'agent gone' });
    expect(lost2.status).toBe('done');
    expect(effects(a2)).toEqual(['abortBoth']);
    expect(lost2.output).toEqual({ closedBy: 'near', reason: 'x' });
  });

  it('a second close request while closing does not ask the far side again', () => {
    const [closing] = transition(connectionMachine, open(), { type: 'CLOSE_REQUESTED', reason: 'x' });
    const [still, actions] = transition(connectionMachine, closing, { type: 'CLOSE_REQUESTED', reason: 'y' });
    expect(still.value).toBe('closing');
    expect(effects(actions)).toEqual([]);
  });

  it('gives up waiting for the far side after the close confirmation timeout', () => {
    expect(CLOSE_CONFIRM_TIMEOUT_MS).toBeGreaterThan(0);
    const [closing] = transition(connectionMachine, open(), { type: 'CLOSE_REQUESTED', reason: 'x' });
    const timeoutEvent = { type: `xstate.after.closeConfirmTimeout.connection.closing` };
    const [closed, actions] = transition(connectionMachine, closing, timeoutEvent as never);
    expect(closed.status).toBe('done');
    expect(effects(actions)).toEqual(['notifyNearClosed', 'abortBoth']);
  });
});
