/**
 * The dial admission gate on its own, with a clock the test moves: slots up to the bound, a FIFO queue up
 * to its bound, refusal beyond it, leaving the queue, deadlines, and every slot given back exactly once.
 */
import {
  DialAdmission,
  DialAdmissionError,
  type AdmissionClock,
  type DialSlot,
  type QueuePlace,
  type WaitingDial,
} from '../../../src/actors/server/dialAdmission';
import { ManualClock } from '../../auth/manualClock';

/** The manual clock, plus deferred work that runs only when the test says so. */
class TestClock implements AdmissionClock {
  readonly manual = new ManualClock(0);
  private deferred: Array<() => void> = [];
  now = (): number => this.manual.now();
  setTimer = (fn: () => void, ms: number): (() => void) => this.manual.setTimer(fn, ms);
  defer = (fn: () => void): void => {
    this.deferred.push(fn);
  };
  /** Runs what was deferred (and what that defers), as the event loop would. */
  flush(): void {
    while (this.deferred.length > 0) this.deferred.shift()!();
  }
}

/** A waiting dial that writes down what happened to it. */
class Recorder implements WaitingDial {
  slot: DialSlot | null = null;
  waitedMs: number | null = null;
  expiredAfter: number | null = null;
  droppedWith: string | null = null;
  constructor(
    readonly name: string,
    private readonly order: string[],
  ) {}
  admitted(slot: DialSlot, waitedMs: number): void {
    this.slot = slot;
    this.waitedMs = waitedMs;
    this.order.push(this.name);
  }
  expired(waitedMs: number): void {
    this.expiredAfter = waitedMs;
    this.order.push(`${this.name} expired`);
  }
  dropped(error: string): void {
    this.droppedWith = error;
  }
}

let clock: TestClock;
let order: string[];
beforeEach(() => {
  clock = new TestClock();
  order = [];
});

function gate(maxInFlight: number, maxWaiting: number): DialAdmission {
  return new DialAdmission({ maxInFlight, maxWaiting }, clock);
}

function admitNow(g: DialAdmission, name: string, timeoutMs = 0): DialSlot {
  const a = g.request(new Recorder(name, order), timeoutMs);
  if (a.kind !== 'admitted') throw new Error(`${name} was not admitted at once: ${a.kind}`);
  return a.slot;
}

function wait(g: DialAdmission, name: string, timeoutMs = 0): { dial: Recorder; place: QueuePlace } {
  const dial = new Recorder(name, order);
  const a = g.request(dial, timeoutMs);
  if (a.kind !== 'waiting') throw new Error(`${name} does not wait: ${a.kind}`);
  return { dial, place: a.place };
}

describe('DialAdmission', () => {
  it('admits up to the in-flight bound at once, then queues', () => {
    const g = gate(2, 10);
    admitNow(g, 'a');
    admitNow(g, 'b');
    wait(g, 'c');
    expect(g.inFlightCount).toBe(2);
    expect(g.waitingCount).toBe(1);
  });

  it('admits waiting dials in arrival order as slots are given back', () => {
    const g = gate(1, 10);
    const a = admitNow(g, 'a');
    const b = wait(g, 'b');
    const c = wait(g, 'c');
    a.release();
    clock.flush();
    expect(order).toEqual(['b']);
    b.dial.slot!.release();
    clock.flush();
    expect(order).toEqual(['b', 'c']);
    expect(c.dial.slot).not.toBeNull();
    expect(g.waitingCount).toBe(0);
  });

  it('keeps arrival order when a dial comes between a release and the admission it schedules', () => {
    const g = gate(1, 10);
    const a = admitNow(g, 'a');
    wait(g, 'b');
    a.release(); // the slot is free, but b goes first
    const late = g.request(new Recorder('late', order), 0);
    expect(late.kind).toBe('waiting');
    clock.flush();
    expect(order).toEqual(['b']);
  });

  it('refuses at once beyond the waiting bound, with the bound in the error', () => {
    const g = gate(1, 2);
    admitNow(g, 'a');
    wait(g, 'b');
    wait(g, 'c');
    const refused = g.request(new Recorder('d', order), 0);
    expect(refused.kind).toBe('refused');
    const error = (refused as { error: DialAdmissionError }).error;
    expect(error).toBeInstanceOf(DialAdmissionError);
    expect(error.reason).toBe('too-many-dials');
    expect(error.message).toBe('too many dials waiting (2): try again');
    expect(g.waitingCount).toBe(2);
  });

  it('refuses at once with no queue at all when the waiting bound is 0', () => {
    const g = gate(1, 0);
    admitNow(g, 'a');
    expect(g.request(new Recorder('b', order), 0).kind).toBe('refused');
  });

  it('a dial that leaves the queue is never admitted, and its place goes to the next one', () => {
    const g = gate(1, 1);
    const a = admitNow(g, 'a');
    const b = wait(g, 'b');
    expect(b.place.leave()).toBe(true);
    expect(b.place.leave()).toBe(false);
    expect(g.waitingCount).toBe(0);
    const c = wait(g, 'c'); // the one place is free again
    a.release();
    clock.flush();
    expect(order).toEqual(['c']);
    expect(b.dial.slot).toBeNull();
    expect(c.dial.slot).not.toBeNull();
  });

  it('counts a slot given back twice only once', () => {
    const g = gate(2, 10);
    const a = admitNow(g, 'a');
    admitNow(g, 'b');
    a.release();
    a.release();
    expect(g.inFlightCount).toBe(1);
    admitNow(g, 'c');
    expect(g.request(new Recorder('d', order), 0).kind).toBe('waiting');
  });

  it('expires waiting dials at their deadlines, oldest first, and tells how long they waited', () => {
    const g = gate(1, 10);
    admitNow(g, 'a', 1000);
    const b = wait(g, 'b', 1000);
    clock.manual.advance(300);
    const c = wait(g, 'c', 1000);
    clock.manual.advance(700);
    expect(order).toEqual(['b expired']);
    expect(b.dial.expiredAfter).toBe(1000);
    expect(g.waitingCount).toBe(1);
    clock.manual.advance(300);
    expect(order).toEqual(['b expired', 'c expired']);
    expect(c.dial.expiredAfter).toBe(1000);
    expect(clock.manual.pendingTimers).toBe(0);
  });

  it('tells an admitted dial how long it waited, so it keeps only the rest of its timeout', () => {
    const g = gate(1, 10);
    const a = admitNow(g, 'a', 1000);
    const b = wait(g, 'b', 1000);
    clock.manual.advance(400);
    a.release();
    clock.flush();
    expect(b.dial.waitedMs).toBe(400);
    expect(clock.manual.pendingTimers).toBe(0);
  });

  it('expires instead of admitting a dial whose deadline passed before its turn came', () => {
    const g = gate(1, 10);
    const a = admitNow(g, 'a', 1000);
    const b = wait(g, 'b', 1000);
    // The deadline passes while the admission is being scheduled.
    a.release();
    clock.manual.now = () => 1000;
    clock.flush();
    expect(order).toEqual(['b expired']);
    expect(b.dial.slot).toBeNull();
    expect(g.inFlightCount).toBe(0);
  });

  it('waits without a deadline when there is no dial timeout', () => {
    const g = gate(1, 10);
    admitNow(g, 'a');
    wait(g, 'b');
    clock.manual.advance(24 * 3600 * 1000);
    expect(order).toEqual([]);
    expect(clock.manual.pendingTimers).toBe(0);
  });

  it('drops every waiting dial on close and refuses later ones', () => {
    const g = gate(1, 10);
    admitNow(g, 'a', 1000);
    const b = wait(g, 'b', 1000);
    g.close('No agent available');
    expect(b.dial.droppedWith).toBe('No agent available');
    expect(g.waitingCount).toBe(0);
    expect(clock.manual.pendingTimers).toBe(0);
    expect(g.request(new Recorder('c', order), 0).kind).toBe('refused');
  });
});

describe('admitNow (the fast path of a dial admitted at once)', () => {
  it('gives a slot only while one is free and nobody waits, and refuses nothing by itself', () => {
    const admission = gate(1, 1);
    const first = admission.admitNow();
    expect(first).not.toBeNull();
    expect(admission.admitNow()).toBeNull(); // every slot taken

    const waiter = new Recorder('waiter', order);
    expect(admission.request(waiter, 0).kind).toBe('waiting');
    first!.release();
    expect(admission.admitNow()).toBeNull(); // a slot is free, but the waiter came first
    clock.flush();
    expect(order).toEqual(['waiter']);

    waiter.slot!.release();
    clock.flush();
    expect(admission.admitNow()).not.toBeNull();
  });

  it('gives nothing once closed', () => {
    const admission = gate(4, 4);
    admission.close('shutting down');
    expect(admission.admitNow()).toBeNull();
  });
});
