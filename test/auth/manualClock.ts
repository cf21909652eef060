/**
 * A clock that moves only when the test says so, for TTLs, token expiry and throttling. Timers fire in
 * time order during advance(), each at its own due time, so a callback that reads now() sees its instant.
 */
import type { AuthClock } from '../../src/auth/clock';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

export class ManualClock implements AuthClock {
  private current: number;
  private timers: Timer[] = [];
  private nextId = 1;

  /** Starts at a fixed wall-clock instant so JWT `exp` values in tests are stable. */
  constructor(start = Date.UTC(2030, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, ms: number): () => void {
    const timer = { id: this.nextId++, at: this.current + Math.max(0, ms), fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t.id !== timer.id);
    };
  }

  /** Timers not yet fired or cancelled: a test ends with none. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t.id !== due.id);
      this.current = Math.max(this.current, due.at);
      due.fn();
    }
    this.current = end;
  }
}
