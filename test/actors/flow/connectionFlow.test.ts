import { ConnectionFlow, type FlowPort, type FlowSizes } from '../../../src/actors/flow/connectionFlow';

const sizes: FlowSizes = { window: 100, creditBatch: 30, overflow: 150, drained: 50 };

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
