/**
 * Server-wide admission of dials: at most `maxInFlight` dials are pending at an agent at once (DIAL_REQ
 * sent, DIAL_RSP not yet received); further dials wait in arrival order, up to `maxWaiting`; beyond that a
 * dial is refused at once with a clear error, so that a burst costs bounded work and memory instead of
 * becoming as many DIAL_REQs (and agent sockets) as there are requests. See docs/bursts.md, "Admission".
 *
 * The gate knows nothing of frontends, tunnels or packets: a dial asks for a slot and gets one now, a
 * place in the queue, or a refusal; a place is admitted (given a slot), expires at its deadline, or is
 * left by its owner. Every slot is released exactly once, whatever the dial's outcome.
 */
import { systemAuthClock, type AuthClock } from '../../auth/clock';
import { ReasonedError } from '../../errors';
import { DEFAULT_MAX_DIALS_IN_FLIGHT, DEFAULT_MAX_DIALS_WAITING } from '../../config/admissionFlags';

export interface AdmissionLimits {
  readonly maxInFlight: number;
  readonly maxWaiting: number;
}

export const DEFAULT_ADMISSION_LIMITS: AdmissionLimits = {
  maxInFlight: DEFAULT_MAX_DIALS_IN_FLIGHT,
  maxWaiting: DEFAULT_MAX_DIALS_WAITING,
};

export type DialAdmissionReason = 'too-many-dials';

/** The queue is full: the dial is refused at once; the frontend may try again. */
export class DialAdmissionError extends ReasonedError<DialAdmissionReason> {
  constructor(readonly maxWaiting: number) {
    // Go-style wording (lower case, no trailing period), as peers read the reference's errors.
    super('too-many-dials', `too many dials waiting (${maxWaiting}): try again`);
  }
}

/** The right to have one dial pending at an agent. */
export interface DialSlot {
  /** Gives the slot back; the dial has an outcome. Safe to call more than once. */
  release(): void;
}

/** A dial waiting for a slot. */
export interface WaitingDial {
  /** A slot is free: send the dial now (the slot is the dial's until it has an outcome). */
  admitted(slot: DialSlot, waitedMs: number): void;
  /** Its deadline passed while it waited. */
  expired(waitedMs: number): void;
  /** The gate closed (shutdown) while it waited; `error` is what its frontend is told. */
  dropped(error: string): void;
}

/** A place in the queue, held by the dial's owner. */
export interface QueuePlace {
  /** Leaves the queue (the frontend went away); false when it had already left it. */
  leave(): boolean;
}

export type Admission =
  | { readonly kind: 'admitted'; readonly slot: DialSlot }
  | { readonly kind: 'waiting'; readonly place: QueuePlace }
  | { readonly kind: 'refused'; readonly error: DialAdmissionError };

/** Time and scheduling, injected so that tests move them by hand: the auth code's clock, plus a deferral. */
export interface AdmissionClock extends AuthClock {
  /** Runs `fn` soon, outside the caller's stack. */
  defer(fn: () => void): void;
}

export const systemAdmissionClock: AdmissionClock = {
  ...systemAuthClock,
  defer: (fn) => {
    setImmediate(fn);
  },
};

interface Entry {
  readonly dial: WaitingDial;
  readonly enqueuedAt: number;
  /** null: no deadline (no dial timeout configured). */
  readonly deadline: number | null;
  /** Still in the queue (not admitted, expired, dropped or left). */
  waiting: boolean;
}

/**
 * Compact the queue's array once this many entries before its head are spent (and they are most of it):
 * rare enough to cost nothing per dial, often enough that a long burst does not keep a long array.
 */
const COMPACT_AFTER = 1024;

export class DialAdmission {
  private inFlight = 0;
  /**
   * Arrival order from `head` on. A dial that leaves is only marked, and skipped when the head reaches it:
   * leaving is O(1) and every entry is passed over once.
   */
  private queue: Entry[] = [];
  private head = 0;
  private waiting = 0;
  private admitScheduled = false;
  private cancelExpiry: (() => void) | null = null;
  private expiryAt: number | null = null;
  private closed = false;

  constructor(
    readonly limits: AdmissionLimits = DEFAULT_ADMISSION_LIMITS,
    private readonly clock: AdmissionClock = systemAdmissionClock,
  ) {}

  /** Dials holding a slot (pending at an agent). */
  get inFlightCount(): number {
    return this.inFlight;
  }

  /** Dials waiting for a slot. */
  get waitingCount(): number {
    return this.waiting;
  }

  /**
   * Asks for a slot. `timeoutMs` (0: none) is the dial's whole timeout: a dial still waiting when it runs
   * out expires. Every dial of a server has the same timeout, so deadlines grow along the queue.
   */
  /**
   * A slot at once when one is free and nobody waits, or null (then `request` decides between waiting
   * and refusal). Lets a dial that is admitted at once, the usual case, skip building its waiting form.
   */
  admitNow(): DialSlot | null {
    return !this.closed && this.waiting === 0 && this.inFlight < this.limits.maxInFlight ? this.take() : null;
  }

  request(dial: WaitingDial, timeoutMs: number): Admission {
    // A dial goes ahead of the queue only when nobody waits, so that arrival order is kept.
    if (!this.closed && this.waiting === 0 && this.inFlight < this.limits.maxInFlight) {
      return { kind: 'admitted', slot: this.take() };
    }
    if (this.closed || this.waiting >= this.limits.maxWaiting) {
      return { kind: 'refused', error: new DialAdmissionError(this.limits.maxWaiting) };
    }
    const now = this.clock.now();
    const entry: Entry = {
      dial,
      enqueuedAt: now,
      deadline: timeoutMs > 0 ? now + timeoutMs : null,
      waiting: true,
    };
    this.queue.push(entry);
    this.waiting++;
    this.armExpiry();
    return { kind: 'waiting', place: { leave: () => this.leave(entry) } };
  }

  /** No more dials (shutdown): later requests are refused and every waiting dial is dropped with `error`. */
  close(error: string): void {
    this.closed = true;
    this.disarmExpiry();
    const waiting: Entry[] = [];
    for (let e = this.first(); e; e = this.first()) waiting.push(this.shift(e));
    for (const entry of waiting) entry.dial.dropped(error);
  }

  private take(): DialSlot {
    this.inFlight++;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.inFlight--;
        this.scheduleAdmit();
      },
    };
  }

  /**
   * Admission runs outside the releasing stack: a slot is often given back while a tunnel tears down its
   * dials, and a waiting dial must not be sent into the tunnel that is being released.
   */
  private scheduleAdmit(): void {
    if (this.admitScheduled || this.waiting === 0) return;
    this.admitScheduled = true;
    this.clock.defer(() => {
      this.admitScheduled = false;
      this.admitWaiting();
    });
  }

  private admitWaiting(): void {
    const now = this.clock.now();
    while (!this.closed && this.inFlight < this.limits.maxInFlight) {
      const entry = this.first();
      if (!entry) break;
      this.shift(entry);
      if (entry.deadline !== null && entry.deadline <= now) entry.dial.expired(now - entry.enqueuedAt);
      else entry.dial.admitted(this.take(), now - entry.enqueuedAt);
    }
    this.armExpiry();
  }

  private leave(entry: Entry): boolean {
    if (!entry.waiting) return false;
    entry.waiting = false;
    this.waiting--;
    if (this.waiting === 0) {
      this.disarmExpiry();
      this.queue = [];
      this.head = 0;
    }
    return true;
  }

  /** The oldest waiting entry, passing over the ones that left. */
  private first(): Entry | undefined {
    while (this.head < this.queue.length && !this.queue[this.head]!.waiting) this.head++;
    if (this.head > COMPACT_AFTER && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return this.queue[this.head];
  }

  /** Takes `entry`, which first() returned, off the queue. */
  private shift(entry: Entry): Entry {
    entry.waiting = false;
    this.waiting--;
    this.head++;
    return entry;
  }

  /** One timer, for the oldest waiting dial's deadline (the earliest, since deadlines grow along the queue). */
  private armExpiry(): void {
    const deadline = this.first()?.deadline ?? null;
    if (deadline === this.expiryAt) return;
    this.disarmExpiry();
    if (deadline === null) return;
    this.expiryAt = deadline;
    this.cancelExpiry = this.clock.setTimer(() => this.expire(), deadline - this.clock.now());
  }

  private disarmExpiry(): void {
    this.cancelExpiry?.();
    this.cancelExpiry = null;
    this.expiryAt = null;
  }

  private expire(): void {
    this.cancelExpiry = null;
    this.expiryAt = null;
    const now = this.clock.now();
    for (let e = this.first(); e && e.deadline !== null && e.deadline <= now; e = this.first()) {
      this.shift(e).dial.expired(now - e.enqueuedAt);
    }
    this.armExpiry();
  }
}
