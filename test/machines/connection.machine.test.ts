import { getInitialSnapshot, transition, type AnyMachineSnapshot } from 'xstate';
import { connectionMachine } from '../../src/machines/connection.machine';
import { timerFires } from './delays';

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
    const [closing] = transition(connectionMachine, open(), { type: 'CLOSE_REQUESTED', reason: 'x' });
    const timeout = timerFires(connectionMachine, 'connection.closing', 'closeConfirmTimeout');
    const [closed, actions] = transition(connectionMachine, closing, timeout);
    expect(closed.status).toBe('done');
    expect(effects(actions)).toEqual(['notifyNearClosed', 'abortBoth']);
  });
});

describe('connection machine: a sink that falls behind', () => {
  const open = (): AnyMachineSnapshot => getInitialSnapshot(connectionMachine, { connectID: '3' });
  const effects = (actions: readonly { type: string }[]): string[] =>
    actions
      .map((a) => a.type)
      .filter((t) => !t.startsWith('xstate.') && !['record', 'recordEviction'].includes(t));

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
    expect(closed.output).toEqual({ closedBy: 'evicted', reason: 'buffer-overflow' });
  });

  it('a close while overflowing releases the stream too', () => {
    const [over] = transition(connectionMachine, open(), { type: 'OVERFLOWED' });
    const [closing, actions] = transition(connectionMachine, over, { type: 'CLOSE_REQUESTED', reason: 'x' });
    expect(closing.value).toBe('closing');
    expect(effects(actions)).toEqual(['releaseTunnel', 'requestFarClose']);
  });
});
