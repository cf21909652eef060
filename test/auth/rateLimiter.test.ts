import { TokenReviewError } from '../../src/auth/errors';
import {
  createRateLimiter,
  resolveRateLimits,
  TokenBucketRateLimiter,
  unlimited,
} from '../../src/auth/rateLimiter';
import { ManualClock } from './manualClock';

/** Settles microtasks so a resolved wait is observable. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Tracks whether a wait has settled, without awaiting it. */
function track(p: Promise<number>): { settled: () => boolean; result: Promise<number | TokenReviewError> } {
  let settled = false;
  const result = p.then(
    (v) => ((settled = true), v),
    (e: TokenReviewError) => ((settled = true), e),
  );
  return { settled: () => settled, result };
}

describe('resolveRateLimits (how rest.RESTClientFor reads --kubeconfig-qps/--kubeconfig-burst)', () => {
  test('zero means client-go defaults: 5 qps, burst 10', () => {
    expect(resolveRateLimits(0, 0)).toEqual({ qps: 5, burst: 10 });
  });
  test('explicit values are kept, qps may be fractional', () => {
    expect(resolveRateLimits(0.5, 2)).toEqual({ qps: 0.5, burst: 2 });
  });
  test('a negative qps means no limiter at all', () => {
    expect(resolveRateLimits(-1, 0)).toBeUndefined();
    expect(createRateLimiter(-1, 0, new ManualClock())).toBe(unlimited);
  });
  test('a negative burst with a limiter is refused at start-up instead of failing every request', () => {
    expect(() => resolveRateLimits(5, -1)).toThrow(TokenReviewError);
    expect(() => resolveRateLimits(5, -1)).toThrow(/exceeds limiter's burst -1/);
  });
});

describe('TokenBucketRateLimiter', () => {
  let clock: ManualClock;
  let limiter: TokenBucketRateLimiter;

  beforeEach(() => {
    clock = new ManualClock();
    limiter = new TokenBucketRateLimiter({ qps: 2, burst: 3 }, clock);
  });
  afterEach(() => {
    limiter.close();
    // Every wait either fired or was cancelled: nothing is left scheduled.
    expect(clock.pendingTimers).toBe(0);
  });

  test('a full bucket lets `burst` requests go at once, then one per 1/qps seconds, in order', async () => {
    // given a full bucket of 3, when 5 requests arrive together
    const waits = [1, 2, 3, 4, 5].map(() => track(limiter.wait()));
    await flush();
    // then the first 3 go at once
    expect(waits.map((w) => w.settled())).toEqual([true, true, true, false, false]);
    // and the 4th goes 500 ms later (2 qps), not a millisecond earlier
    clock.advance(499);
    await flush();
    expect(waits[3]!.settled()).toBe(false);
    clock.advance(1);
    await flush();
    expect(waits[3]!.settled()).toBe(true);
    expect(waits[4]!.settled()).toBe(false);
    // and the 5th 500 ms after that
    clock.advance(500);
    await flush();
    expect(await waits[4]!.result).toBe(1000);
  });

  test('an idle bucket refills to burst, never beyond', async () => {
    await Promise.all([limiter.wait(), limiter.wait(), limiter.wait()]);
    clock.advance(60_000);
    const waits = [1, 2, 3, 4].map(() => track(limiter.wait()));
    await flush();
    expect(waits.map((w) => w.settled())).toEqual([true, true, true, false]);
    clock.advance(500);
    await flush();
  });

  test('a wait that cannot end before the deadline is refused at once and takes no slot', async () => {
    await Promise.all([limiter.wait(), limiter.wait(), limiter.wait()]);
    // the next slot is 500 ms away; a 100 ms deadline cannot be met
    const refused = await limiter.wait({ deadline: clock.now() + 100 }).catch((e: TokenReviewError) => e);
    expect(refused).toMatchObject({
      reason: 'rate-limited',
      message: 'rate: Wait(n=1) would exceed context deadline',
    });
    // the refused wait did not push the next one back
    const next = track(limiter.wait());
    clock.advance(500);
    await flush();
    expect(await next.result).toBe(500);
  });

  test('an aborted wait rejects with aborted and gives its slot to the next waiter', async () => {
    await Promise.all([limiter.wait(), limiter.wait(), limiter.wait()]);
    const controller = new AbortController();
    const first = track(limiter.wait({ signal: controller.signal }));
    controller.abort();
    await flush();
    expect(await first.result).toMatchObject({ reason: 'aborted' });
    // the next waiter gets the 500 ms slot the aborted one held
    const second = track(limiter.wait());
    clock.advance(500);
    await flush();
    expect(await second.result).toBe(500);
  });

  test('close() rejects pending waits with closed, later waits too, and is idempotent', async () => {
    await Promise.all([limiter.wait(), limiter.wait(), limiter.wait()]);
    const pending = track(limiter.wait());
    limiter.close();
    limiter.close();
    expect(await pending.result).toMatchObject({ reason: 'closed' });
    await expect(limiter.wait()).rejects.toMatchObject({ reason: 'closed' });
  });
});
