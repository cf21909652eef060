import { WriteQueue } from '../../src/persistence/writeQueue';
import { waitFor } from '../helpers/waitFor';

function queue(
  sink: (batch: number[]) => Promise<void>,
  maxQueued = 100,
): { q: WriteQueue<number>; errors: unknown[] } {
  const errors: unknown[] = [];
  const q = new WriteQueue(sink, {
    batchDelayMs: 1,
    maxBatch: 10,
    maxQueued,
    onSinkError: (e) => errors.push(e),
  });
  return { q, errors };
}

describe('WriteQueue', () => {
  it('writes everything in order, in batches, and flush waits for it', async () => {
    const batches: number[][] = [];
    const { q } = queue(async (b) => void batches.push([...b]));
    for (let i = 0; i < 25; i++) q.push(i);
    await q.flush();
    expect(batches.flat()).toEqual([...Array(25).keys()]);
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(10);
    await q.stop();
  });

  it('refuses items beyond its bound instead of growing', async () => {
    const { q } = queue(async () => undefined, 3);
    expect([1, 2, 3, 4].map((i) => q.push(i))).toEqual([true, true, true, false]);
    await q.stop();
  });

  it('keeps items through sink failures, rejects the waiting flush, then succeeds on retry', async () => {
    let failures = 2;
    const written: number[] = [];
    const { q, errors } = queue(async (b) => {
      if (failures-- > 0) throw new Error('disk full');
      written.push(...b);
    });
    q.push(1);
    q.push(2);
    await expect(q.flush()).rejects.toThrow('disk full');
    await waitFor(() => written.length >= 2, { description: 'the retried batch written' });
    expect(written).toEqual([1, 2]);
    expect(errors).toHaveLength(2);
    await q.flush();
    await q.stop();
  });

  it('stop returns what could not be written and refuses more', async () => {
    const { q } = queue(() => Promise.reject(new Error('broken')));
    q.push(1);
    await expect(q.flush()).rejects.toThrow('broken');
    expect(await q.stop()).toEqual([1]);
    expect(q.push(2)).toBe(false);
  });
});

describe('WriteQueue with a bounded number of attempts', () => {
  it('given a sink that keeps failing, when items are pushed, then each batch is given up after its attempts and later items are written once the sink recovers', async () => {
    let broken = true;
    const written: number[] = [];
    const givenUp: number[] = [];
    const q = new WriteQueue<number>(
      async (b) => {
        if (broken) throw new Error('ENOSPC');
        written.push(...b);
      },
      {
        batchDelayMs: 1,
        maxBatch: 10,
        maxQueued: 100,
        maxAttempts: 2,
        onSinkError: () => undefined,
        onGiveUp: (b) => givenUp.push(...b),
      },
    );
    for (let i = 0; i < 15; i++) q.push(i);
    await waitFor(() => givenUp.length >= 15, { description: 'every event given up' });
    expect(givenUp).toEqual([...Array(15).keys()]);
    expect(q.length).toBe(0);

    broken = false;
    q.push(99);
    await q.flush();
    expect(written).toEqual([99]);
    await q.stop();
  });
});

describe('WriteQueue pacing', () => {
  /** A queue whose writes finish when the test says so, with a batch delay no test waits for. */
  function heldQueue(maxBatch: number): { q: WriteQueue<number>; batches: number[][]; release: () => void } {
    const batches: number[][] = [];
    let pending: (() => void)[] = [];
    const q = new WriteQueue<number>(
      (b) => {
        batches.push([...b]);
        return new Promise<void>((resolve) => pending.push(resolve));
      },
      { batchDelayMs: 60_000, maxBatch, maxQueued: 100, onSinkError: () => undefined },
    );
    const release = (): void => {
      const now = pending;
      pending = [];
      for (const r of now) r();
    };
    return { q, batches, release };
  }
  /** A few turns of the event loop: long enough for a write that starts at once, never for the delay. */
  async function turns(): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  }
  async function started(batches: number[][], n: number): Promise<void> {
    await waitFor(() => batches.length === n, { timeoutMs: 5_000, description: `batch ${n} written` });
  }

  /** [1] being written, flushed, and 2 pushed meanwhile. */
  async function secondArrivingDuringFirst(): Promise<
    ReturnType<typeof heldQueue> & { first: Promise<void> }
  > {
    const held = heldQueue(10);
    held.q.push(1);
    const first = held.q.flush();
    await started(held.batches, 1);
    held.q.push(2);
    return { ...held, first };
  }

  it('given items that arrive during a write, when it ends, then they wait for the batch delay', async () => {
    const { q, batches, release, first } = await secondArrivingDuringFirst();
    release();
    await first;
    await turns();
    expect(batches).toEqual([[1]]);
    const second = q.flush(); // what the delay would do, without waiting for it
    await started(batches, 2);
    expect(batches[1]).toEqual([2]);
    release();
    await second;
    await q.stop();
  });

  it('given items waiting for the batch delay, when the queue stops, then they are written first', async () => {
    const { q, batches, release, first } = await secondArrivingDuringFirst();
    release();
    await first;
    const stopping = q.stop();
    await started(batches, 2);
    release();
    expect(await stopping).toEqual([]);
    expect(batches).toEqual([[1], [2]]);
  });

  it('given a full batch, when its write ends, then the next starts at once', async () => {
    const { q, batches, release } = heldQueue(2);
    q.push(1);
    q.push(2);
    const first = q.flush();
    await started(batches, 1);
    for (const i of [3, 4, 5]) q.push(i);
    release();
    await first;
    await turns();
    expect(batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
    release(); // [3, 4] was full too: [5] follows at once, and nothing after it
    await turns();
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
    release();
    await turns();
    expect(batches.length).toBe(3);
    await q.stop();
  });

  it('given a flush waiting, when a write ends, then the next starts at once', async () => {
    const { q, batches, release, first } = await secondArrivingDuringFirst();
    const second = q.flush();
    release();
    await first;
    await turns();
    expect(batches).toEqual([[1], [2]]);
    release();
    await second;
    await q.stop();
  });
});
