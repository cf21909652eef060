import { waitFor, waitForStable, WaitForTimeoutError } from '../../helpers/waitFor';

describe('waitFor', () => {
  it('returns the first truthy value of a sync or async predicate', async () => {
    let n = 0;
    await expect(waitFor(() => ++n >= 3 && n, { intervalMs: 1 })).resolves.toBe(3);
    await expect(waitFor(async () => 'ready')).resolves.toBe('ready');
  });

  it('treats a throwing predicate as "not yet"', async () => {
    let n = 0;
    const value = await waitFor(
      () => {
        if (++n < 3) throw new Error('not yet');
        return n;
      },
      { intervalMs: 1 },
    );
    expect(value).toBe(3);
  });

  it('fails after the deadline with the description and the last value or error', async () => {
    const err = await waitFor(() => 0, { timeoutMs: 50, description: 'the answer' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitForTimeoutError);
    expect((err as Error).message).toMatch(
      /timed out after \d+ ms \(\d+ attempts\) waiting for the answer; last value: 0/,
    );

    const thrown = await waitFor(
      () => {
        throw new Error('still booting');
      },
      { timeoutMs: 50, description: 'boot' },
    ).catch((e: unknown) => e);
    expect((thrown as Error).message).toContain('last attempt threw: still booting');
    expect((thrown as Error).cause).toBeInstanceOf(Error);
  });

  it('is not held past the deadline by a predicate that never settles', async () => {
    // Without its own deadline this would wait forever (and the test would hang, not pass).
    await expect(waitFor(() => new Promise<boolean>(() => undefined), { timeoutMs: 50 })).rejects.toThrow(
      WaitForTimeoutError,
    );
  });

  it('rethrows at once errors marked failFast', async () => {
    const fatal = new Error('process exited');
    let attempts = 0;
    await expect(
      waitFor(
        () => {
          attempts++;
          throw fatal;
        },
        { timeoutMs: 5_000, failFast: (e) => e === fatal },
      ),
    ).rejects.toBe(fatal);
    expect(attempts).toBe(1); // no retry, so no waiting for the deadline
  });
});

describe('waitForStable', () => {
  it('returns once the value stops changing', async () => {
    let n = 0;
    const timer = setInterval(() => n < 5 && n++, 5);
    try {
      await expect(waitForStable(() => n, { stableMs: 60, intervalMs: 5 })).resolves.toBe(5);
    } finally {
      clearInterval(timer);
    }
  });

  it('fails when the value keeps changing', async () => {
    let n = 0;
    await expect(waitForStable(() => n++, { stableMs: 50, timeoutMs: 100, intervalMs: 5 })).rejects.toThrow(
      /stay unchanged/,
    );
  });
});
