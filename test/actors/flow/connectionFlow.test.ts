import { ConnectionFlow, type FlowPort, type FlowSizes } from '../../../src/actors/flow/connectionFlow';

const sizes: FlowSizes = { window: 100, maxWindow: 100, creditBatch: 30, overflow: 150, drained: 50 };

function recorder(): FlowPort & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    grantCredit: (n) => calls.push(`credit ${n}`),
    pauseSource: () => calls.push('pause'),
    resumeSource: () => calls.push('resume'),
    overflowed: () => calls.push('overflowed'),
    drained: () => calls.push('drained'),
  };
}

describe('ConnectionFlow with credits', () => {
  it('pauses the source once the window is spent and resumes it when the peer grants more', () => {
    const port = recorder();
    const flow = new ConnectionFlow(true, port, sizes);
    flow.sent(60);
    expect(port.calls).toEqual([]);
    flow.sent(40);
    expect(port.calls).toEqual(['pause']);
    flow.credited(30);
    expect(port.calls).toEqual(['pause', 'resume']);
  });

  it('returns credit in batches, only for bytes the sink took', () => {
    const port = recorder();
    const flow = new ConnectionFlow(true, port, sizes);
    flow.received(80);
    expect(flow.bufferedBytes).toBe(80);
    expect(port.calls).toEqual([]); // nothing taken yet: nothing owed
    flow.taken(20);
    expect(port.calls).toEqual([]);
    flow.taken(20);
    expect(port.calls).toEqual(['credit 40']);
    flow.taken(40);
    expect(port.calls).toEqual(['credit 40', 'credit 40']);
    expect(flow.bufferedBytes).toBe(0);
  });

  it('keeps the source paused until every reason to hold it is gone', () => {
    const port = recorder();
    const flow = new ConnectionFlow(true, port, sizes);
    flow.hold('tunnel');
    flow.sent(100);
    flow.release('tunnel');
    expect(port.calls).toEqual(['pause']); // still out of credit
    flow.credited(10);
    expect(port.calls).toEqual(['pause', 'resume']);
  });
});

describe('ConnectionFlow window growth', () => {
  const growing: FlowSizes = { ...sizes, maxWindow: 400 };

  /** The peer sends `n` and the sink takes it at once, `times` times; returns the credits granted. */
  function flowing(flow: ConnectionFlow, port: { calls: string[] }, n: number, times: number): string[] {
    const from = port.calls.length;
    for (let i = 0; i < times; i++) {
      flow.received(n);
      flow.taken(n);
    }
    return port.calls.slice(from);
  }

  it('doubles the window with the credit after each whole window taken, up to the maximum', () => {
    const port = recorder();
    const flow = new ConnectionFlow(true, port, growing);
    // 120 taken since the start (a window of 100): the fourth credit carries 100 more.
    expect(flowing(flow, port, 30, 4)).toEqual(['credit 30', 'credit 30', 'credit 30', 'credit 130']);
    // The window is 200 now: the next growth waits for 200 more taken, and stops at 400.
    expect(flowing(flow, port, 30, 7)).toEqual([...Array<string>(6).fill('credit 30'), 'credit 230']);
    expect(flowing(flow, port, 30, 20)).toEqual(Array<string>(20).fill('credit 30'));
  });

  it('does not grow while the sink holds more than a batch: the sink, not the credit, is what limits', () => {
    const port = recorder();
    const flow = new ConnectionFlow(true, port, growing);
    flow.received(100);
    flow.taken(30);
    flow.taken(30);
    flow.received(60); // 100 held again
    flow.taken(30);
    flow.taken(30); // 120 taken, but 40 still held
    expect(port.calls).toEqual(['credit 30', 'credit 30', 'credit 30', 'credit 30']);
    flow.taken(30); // caught up: 10 held
    expect(port.calls.at(-1)).toBe('credit 130');
  });

  it('raises the overflow mark by as much as the window grew', () => {
    const port = recorder();
    const flow = new ConnectionFlow(true, port, growing);
    flowing(flow, port, 30, 11); // 100 -> 200 -> 400
    port.calls.length = 0;
    flow.received(440);
    expect(port.calls).toEqual([]); // under 150 + 300
    flow.received(20);
    expect(port.calls).toEqual(['overflowed']);
  });

  it('never grows without credits', () => {
    const port = recorder();
    const flow = new ConnectionFlow(false, port, growing);
    expect(flowing(flow, port, 30, 20)).toEqual([]);
    flow.received(160);
    expect(port.calls).toEqual(['overflowed']); // the fixed mark of a reference peer
  });
});

describe('ConnectionFlow without credits (a reference peer)', () => {
  it('never grants credit and never pauses for it', () => {
    const port = recorder();
    const flow = new ConnectionFlow(false, port, sizes);
    flow.sent(1000);
    flow.received(100);
    flow.taken(100);
    expect(port.calls).toEqual([]);
  });

  it('reports overflow once past the limit and drained once back under the mark', () => {
    const port = recorder();
    const flow = new ConnectionFlow(false, port, sizes);
    flow.received(100);
    flow.received(100);
    expect(port.calls).toEqual(['overflowed']);
    flow.received(100); // still overflowing: not reported twice
    flow.taken(200);
    expect(port.calls).toEqual(['overflowed']); // 100 held, above the drained mark
    flow.taken(60);
    expect(port.calls).toEqual(['overflowed', 'drained']);
  });
});
