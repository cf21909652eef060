/**
 * The one clock of the auth code. Wall-clock milliseconds rather than a monotonic clock, because a JWT's
 * `exp` is wall-clock and the cache compares against it; a clock step can at worst shorten or stretch a
 * cache entry by the step, which is capped by the entry TTL anyway.
 */
export interface AuthClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` after `ms`; the returned function cancels it (safe to call after it ran). */
  setTimer(fn: () => void, ms: number): () => void;
}

export const systemAuthClock: AuthClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};
