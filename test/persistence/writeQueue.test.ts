import { WriteQueue } from '../../src/persistence/writeQueue';

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
    for (let i = 0; i < 100 && written.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
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
