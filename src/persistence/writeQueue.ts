/**
 * The in-memory queue between `append` (synchronous, on the byte path) and a slow asynchronous sink
 * (a file write + fsync). Items are written in order, in batches, by one loop; `flush` waits for
 * everything pushed so far. A failing sink keeps the items and retries with backoff; with `maxAttempts`
 * a batch that keeps failing is given up (handed to `onGiveUp`, which counts it) so that a full or
 * read-only disk costs the events written meanwhile, not the memory of every event that follows.
 */

export interface WriteQueueOptions<T> {
  /** Small enough to be invisible to a human reading events live, large enough to batch bursts. */
  readonly batchDelayMs: number;
  readonly maxBatch: number;
  /** Beyond this the queue refuses items (the caller counts the drop): memory must stay bounded. */
  readonly maxQueued: number;
  readonly onSinkError: (err: unknown, attempt: number) => void;
  /** Attempts per batch before it is given up; unset retries forever. */
  readonly maxAttempts?: number;
  readonly onGiveUp?: (batch: T[], err: unknown) => void;
}

/** Retry backoff for a failing sink (disk full, permissions): from quick to once every few seconds. */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

interface Waiter {
  readonly target: number;
  resolve(): void;
  reject(err: unknown): void;
}

export class WriteQueue<T> {
  private items: T[] = [];
  private pushed = 0;
  private written = 0;
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private wakeRetry: (() => void) | undefined;
  /** The last write failed: a stop returns what is queued instead of trying again. */
  private failing = false;

  constructor(
    private readonly sink: (batch: T[]) => Promise<void>,
    private readonly opts: WriteQueueOptions<T>,
  ) {}

  get length(): number {
    return this.items.length;
  }

  /** False when the queue is full or stopped; the item is not taken. */
  push(item: T): boolean {
    if (this.stopped || this.items.length >= this.opts.maxQueued) return false;
    this.items.push(item);
    this.pushed++;
    if (this.timer === undefined && this.running === undefined) {
      this.timer = setTimeout(() => this.kick(), this.opts.batchDelayMs);
    }
    return true;
  }

  /** Resolves once every item pushed before the call has been written; rejects if the sink fails. */
  flush(): Promise<void> {
    const target = this.pushed;
    if (this.written >= target) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ target, resolve, reject });
      this.kick();
    });
  }

  /**
   * Stops retrying and refuses new items; writes what is queued unless the last write failed, and returns
   * the items that were never written.
   */
  async stop(): Promise<T[]> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.wakeRetry?.();
    await this.running;
    // Items waiting for the batch delay (or the pace between batches) go out now while the sink works: a
    // stop after a flush must not lose what arrived during the flush's last write.
    if (!this.failing && this.items.length > 0) await this.drain();
    const left = this.items;
    this.items = [];
    for (const w of this.waiters.splice(0)) w.reject(new Error('write queue stopped'));
    return left;
  }

  private kick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
      if (this.items.length > 0 && !this.stopped && this.timer === undefined) {
        this.timer = setTimeout(() => this.kick(), this.opts.batchDelayMs);
      }
    });
  }

  private async drain(): Promise<void> {
    let attempt = 0;
    while (this.items.length > 0) {
      const batch = this.items.slice(0, this.opts.maxBatch);
      try {
        await this.sink(batch);
      } catch (err) {
        this.failing = true;
        attempt++;
        this.opts.onSinkError(err, attempt);
        this.settle((w) => w.reject(err));
        if (this.stopped) return;
        if (this.opts.maxAttempts !== undefined && attempt >= this.opts.maxAttempts) {
          attempt = 0;
          this.items.splice(0, batch.length);
          this.written += batch.length;
          this.opts.onGiveUp?.(batch, err);
          continue;
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(RETRY_MIN_MS * 2 ** attempt, RETRY_MAX_MS));
          this.wakeRetry = () => (clearTimeout(t), resolve());
        });
        this.wakeRetry = undefined;
        if (this.stopped) return;
        continue;
      }
      attempt = 0;
      this.failing = false;
      this.items.splice(0, batch.length);
      this.written += batch.length;
      this.settle((w) => (w.target <= this.written ? (w.resolve(), true) : false));
      // What arrived during the write waits for the batch delay (kick's `finally` sets it), unless a
      // flush waits for it or a full batch says the queue is behind: under a steady stream of events a
      // write + fsync per batch delay, not one after the other: the server's file log at about 1,000
      // sequential dials a second made 57 fsyncs a second, and now makes 13 (perf trace).
      if (batch.length < this.opts.maxBatch && this.waiters.length === 0) return;
    }
  }

  /** Calls `f` on waiters; those for which it returns anything but false are removed. */
  private settle(f: (w: Waiter) => unknown): void {
    this.waiters = this.waiters.filter((w) => f(w) === false);
  }
}
