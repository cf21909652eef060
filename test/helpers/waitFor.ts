/**
 * Polling with a deadline: the only way tests wait for a condition (never a bare sleep). The failure says
 * what was awaited, for how long, and the last value or error the predicate produced.
 */
import { inspect } from 'util';

export interface WaitForOptions {
  /** Total time allowed; default 5 s, long enough for a process to start on a loaded CI machine. */
  readonly timeoutMs?: number;
  /** Pause between attempts; default 20 ms. */
  readonly intervalMs?: number;
  /** What is awaited, in words, for the error message. */
  readonly description?: string;
  /**
   * Errors for which this returns true end the wait at once (rethrown as they are), e.g. "the process
   * under test exited": no point polling until the deadline.
   */
  readonly failFast?: (error: unknown) => boolean;
}

export class WaitForTimeoutError extends Error {
  override readonly name = 'WaitForTimeoutError';
  constructor(
    message: string,
    readonly attempts: number,
    readonly lastValue: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_INTERVAL_MS = 20;

type Falsy = false | 0 | 0n | '' | null | undefined;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with `promise`'s value, or with `onTimeout` once `ms` pass, leaving no timer behind. */
async function raceDeadline<T, U>(promise: Promise<T>, ms: number, onTimeout: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<U>((resolve) => (timer = setTimeout(() => resolve(onTimeout), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const TIMED_OUT = Symbol('timed out');

/**
 * Calls `predicate` until it returns a truthy value (which is returned) or the deadline passes. A throwing
 * predicate counts as "not yet"; its last error becomes the cause of the timeout error. An async predicate
 * that hangs cannot hold the wait beyond the deadline.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<Exclude<T, Falsy>> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  const description = options.description ?? predicate.toString();
  const started = Date.now();
  const deadline = started + timeoutMs;
  let attempts = 0;
  let lastValue: unknown;
  let lastError: unknown;

  for (;;) {
    attempts++;
    try {
      const value = await raceDeadline(
        Promise.resolve().then(predicate),
        Math.max(1, deadline - Date.now()),
        TIMED_OUT,
      );
      if (value !== TIMED_OUT) {
        if (value) return value as Exclude<T, Falsy>;
        lastValue = value;
        lastError = undefined;
      }
    } catch (err) {
      if (options.failFast?.(err)) throw err;
      lastError = err;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    await sleep(Math.min(intervalMs, remaining));
  }

  const last =
    lastError !== undefined
      ? `last attempt threw: ${lastError instanceof Error ? lastError.message : inspect(lastError)}`
      : `last value: ${inspect(lastValue, { depth: 3, breakLength: Infinity })}`;
  throw new WaitForTimeoutError(
    `timed out after ${Date.now() - started} ms (${attempts} attempts) waiting for ${description}; ${last}`,
    attempts,
    lastValue,
    lastError !== undefined ? { cause: lastError } : undefined,
  );
}

/**
 * Waits until `read()` returns the same value for `stableMs`, and returns it: for flow-control tests that
 * must show bytes *stopped* moving, which no single observation can prove.
 */
export async function waitForStable<T>(
  read: () => T,
  {
    stableMs = 200,
    timeoutMs = DEFAULT_TIMEOUT_MS,
    intervalMs = DEFAULT_INTERVAL_MS,
    description = read.toString(),
  }: {
    stableMs?: number;
    timeoutMs?: number;
    intervalMs?: number;
    description?: string;
  } = {},
): Promise<T> {
  const started = Date.now();
  let value = read();
  let since = Date.now();
  for (;;) {
    const now = Date.now();
    if (now - since >= stableMs) return value;
    if (now - started > timeoutMs) {
      throw new WaitForTimeoutError(
        `timed out after ${timeoutMs} ms waiting for ${description} to stay unchanged for ${stableMs} ms; last value: ${inspect(value)}`,
        0,
        value,
      );
    }
    await sleep(intervalMs);
    const next = read();
    if (next !== value) {
      value = next;
      since = Date.now();
    }
  }
}
