/**
 * client-go's client-side throttle: flowcontrol.NewTokenBucketRateLimiter(qps, burst), which is
 * golang.org/x/time/rate's Limiter used through Wait(ctx). The bucket starts full (`burst` requests go at
 * once), refills at `qps` per second, and a waiter reserves its slot up front, so waiters are served in
 * order. Like rate.Wait with a context deadline, a wait that could not end before the deadline is refused
 * at once instead of sleeping and failing later.
 */
import type { AuthClock } from './clock';
import { TokenReviewError } from './errors';

/** rest.DefaultQPS / rest.DefaultBurst: what a zero --kubeconfig-qps / --kubeconfig-burst mean. */
export const CLIENT_GO_DEFAULT_QPS = 5;
export const CLIENT_GO_DEFAULT_BURST = 10;

export interface RateLimits {
  readonly qps: number;
  readonly burst: number;
}

/**
 * The flags as rest.RESTClientFor reads them: 0 means the default; a negative (or infinite) qps means no
 * limiter at all (returns undefined). A burst below 1 with a limiter would make client-go fail every
 * request ("rate: Wait(n=1) exceeds limiter's burst"), so it is refused here, at start-up.
 */
export function resolveRateLimits(qps: number, burst: number): RateLimits | undefined {
  if (Number.isNaN(qps)) throw new TokenReviewError('invalid-options', '--kubeconfig-qps must be a number');
  if (!Number.isInteger(burst))
    throw new TokenReviewError('invalid-options', `--kubeconfig-burst must be an integer, got ${burst}`);
  const q = qps === 0 ? CLIENT_GO_DEFAULT_QPS : qps;
  const b = burst === 0 ? CLIENT_GO_DEFAULT_BURST : burst;
  if (!(q > 0) || q === Infinity) return undefined;
  if (b < 1) {
    throw new TokenReviewError(
      'invalid-options',
      `--kubeconfig-burst must be at least 1 when --kubeconfig-qps is positive, got ${b} (every request would fail with "rate: Wait(n=1) exceeds limiter's burst ${b}")`,
    );
  }
  return { qps: q, burst: b };
}

export interface WaitOptions {
  /** Clock time by which the slot must be granted (the request's deadline). */
  readonly deadline?: number;
  readonly signal?: AbortSignal;
}

export interface RateLimiter {
  /** Resolves with the milliseconds waited once a request may go; rejects with a TokenReviewError. */
  wait(options?: WaitOptions): Promise<number>;
  /** Rejects every pending wait with reason 'closed'. Safe to call more than once. */
  close(): void;
}

/** For qps < 0: client-go then builds no limiter. */
export const unlimited: RateLimiter = { wait: () => Promise.resolve(0), close: () => {} };

interface Reservation {
  readonly timeToAct: number;
}

export class TokenBucketRateLimiter implements RateLimiter {
  private tokens: number;
  private last: number;
  private lastEvent: number;
  private readonly pending = new Set<(err: TokenReviewError) => void>();
  private closed = false;

  constructor(
    private readonly limits: RateLimits,
    private readonly clock: AuthClock,
  ) {
    this.tokens = limits.burst;
    this.last = clock.now();
    this.lastEvent = this.last;
  }

  wait(options: WaitOptions = {}): Promise<number> {
    const { deadline, signal } = options;
    if (this.closed) return Promise.reject(new TokenReviewError('closed', 'rate limiter is closed'));
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    const now = this.clock.now();
    const reservation = this.reserve(now, deadline === undefined ? Infinity : deadline - now);
    if (!reservation) {
      return Promise.reject(
        new TokenReviewError('rate-limited', 'rate: Wait(n=1) would exceed context deadline'),
      );
    }
    const delay = reservation.timeToAct - now;
    if (delay <= 0) return Promise.resolve(0);
    return new Promise<number>((resolve, reject) => {
      const fail = (err: TokenReviewError): void => {
        cancelTimer();
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(fail);
        this.cancel(reservation);
        reject(err);
      };
      const onAbort = (): void => fail(abortedError(signal));
      const cancelTimer = this.clock.setTimer(() => {
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(fail);
        resolve(delay);
      }, delay);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.add(fail);
    });
  }

  close(): void {
    this.closed = true;
    for (const fail of [...this.pending]) fail(new TokenReviewError('closed', 'rate limiter is closed'));
  }

  /** rate.Limiter.advance: the bucket as it would be at `t`, without storing it. */
  private advance(t: number): { t: number; tokens: number } {
    const last = Math.min(this.last, t); // a clock stepping back must not mint tokens
    const tokens = this.tokens + ((t - last) * this.limits.qps) / 1000;
    return { t, tokens: Math.min(tokens, this.limits.burst) };
  }

  /** rate.Limiter.reserveN(t, 1, maxWait): takes a token, possibly going negative (a future slot). */
  private reserve(now: number, maxWaitMs: number): Reservation | undefined {
    const { tokens: available } = this.advance(now);
    const tokens = available - 1;
    const waitMs = tokens < 0 ? (-tokens * 1000) / this.limits.qps : 0;
    if (waitMs > maxWaitMs) return undefined;
    this.last = now;
    this.tokens = tokens;
    const timeToAct = now + waitMs;
    this.lastEvent = timeToAct;
    return { timeToAct };
  }

  /** rate.Reservation.CancelAt: gives the slot back, minus what later reservations already counted on. */
  private cancel(r: Reservation): void {
    const now = this.clock.now();
    if (r.timeToAct < now) return;
    const restore = 1 - ((this.lastEvent - r.timeToAct) * this.limits.qps) / 1000;
    if (restore <= 0) return;
    const { tokens } = this.advance(now);
    this.last = now;
    this.tokens = Math.min(tokens + restore, this.limits.burst);
    if (r.timeToAct === this.lastEvent) {
      const prevEvent = r.timeToAct - 1000 / this.limits.qps;
      if (prevEvent >= now) this.lastEvent = prevEvent;
    }
  }
}

function abortedError(signal: AbortSignal | undefined): TokenReviewError {
  return new TokenReviewError(
    'aborted',
    'the request was cancelled while waiting for client-side throttling',
    {
      cause: signal?.reason,
    },
  );
}

export function createRateLimiter(qps: number, burst: number, clock: AuthClock): RateLimiter {
  const limits = resolveRateLimits(qps, burst);
  return limits ? new TokenBucketRateLimiter(limits, clock) : unlimited;
}
