/** ConnectionTable: what one stream carries, found by random and by connectID, released exactly once. */
import { ConnectionTable, type CarriedConnection } from '../../src/actors/connectionTable';
import { ConnectionFlow } from '../../src/actors/flow/connectionFlow';

class Conn implements CarriedConnection {
  flow: ConnectionFlow | null = null;
  readonly lost: string[] = [];
  readonly sourceCalls: string[] = [];
  constructor(
    readonly random: bigint,
    public connectID: bigint | null = null,
  ) {}
  streamLost(reason: string): void {
    this.lost.push(reason);
  }
  withFlow(): this {
    this.flow = new ConnectionFlow(false, {
      grantCredit: () => {},
      pauseSource: () => this.sourceCalls.push('pause'),
      resumeSource: () => this.sourceCalls.push('resume'),
      overflowed: () => {},
      drained: () => {},
    });
    return this;
  }
}

function table(): { t: ConnectionTable<Conn>; receive: string[]; forgotten: bigint[] } {
  const receive: string[] = [];
  const forgotten: bigint[] = [];
  const t = new ConnectionTable<Conn>({
    receiveControl: () => ({
      pauseReceiving: () => receive.push('pause'),
      resumeReceiving: () => receive.push('resume'),
    }),
    connectionForgotten: (id) => forgotten.push(id),
  });
  return { t, receive, forgotten };
}

describe('ConnectionTable', () => {
  it('keeps several dials under one random, oldest first, and moves exactly the established one', () => {
    const { t } = table();
    const a = new Conn(7n);
    const b = new Conn(7n);
    t.addDial(a);
    t.addDial(b);
    expect(t.dialsFor(7n)).toEqual([a, b]);
    expect(t.pendingDialCount).toBe(2);
    b.connectID = 2n;
    t.established(b);
    expect(t.dialsFor(7n)).toEqual([a]);
    expect(t.connection(2n)).toBe(b);
    expect(t.pendingDialCount).toBe(1);
    t.forget(a);
    expect(t.dialsFor(7n)).toEqual([]);
    expect(t.connection(2n)).toBe(b);
  });

  it('reports a forgotten connection once, and not a forgotten dial', () => {
    const { t, forgotten } = table();
    const dial = new Conn(1n);
    const conn = new Conn(2n, 5n);
    t.addDial(dial);
    t.addDial(conn);
    t.established(conn);
    t.forget(dial);
    t.forget(conn);
    t.forget(conn);
    expect(forgotten).toEqual([5n]);
    expect(t.connectionCount).toBe(0);
  });

  it('pauses the stream on the first hold and resumes it when the last one is released or forgotten', () => {
    const { t, receive } = table();
    const a = new Conn(1n, 1n);
    const b = new Conn(2n, 2n);
    t.hold(a);
    t.hold(b);
    t.release(a);
    expect(receive).toEqual(['pause']);
    t.forget(b);
    expect(receive).toEqual(['pause', 'resume']);
  });

  it("releases each waiting connection's tunnel hold once when the stream drains", () => {
    const { t } = table();
    const a = new Conn(1n, 1n).withFlow();
    a.flow!.hold('tunnel');
    t.waitForDrain(a);
    t.streamDrained();
    t.streamDrained();
    expect(a.sourceCalls).toEqual(['pause', 'resume']);
  });

  it('ends every dial and connection once when the stream is gone, and is empty after', () => {
    const { t } = table();
    const dials = [new Conn(1n), new Conn(1n)];
    const conn = new Conn(2n, 9n);
    for (const c of [...dials, conn]) t.addDial(c);
    t.established(conn);
    t.releaseAll('stream gone');
    t.releaseAll('again');
    expect([...dials, conn].map((c) => c.lost)).toEqual([['stream gone'], ['stream gone'], ['stream gone']]);
    expect(t.pendingDialCount + t.connectionCount).toBe(0);
  });
});
