/**
 * The durable, bounded outbox in front of JetStream. Every event is first written (batched, fsynced)
 * to outbox segments under the data directory, then published; an event leaves the outbox only when
 * JetStream has acked it. The ack position is a seq cursor in the file `acked`, saved every
 * CURSOR_SAVE_MS without fsync: losing it only republishes acked events, which the stream drops as
 * duplicates of their msgID (the event id). Acked segments are deleted whole.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LifecycleEvent } from '../events';
import type { DropReporter } from './dropReporter';
import { errorText } from './errors';
import type { EventLogMetrics } from './metrics';
import { encodeRecord } from './record';
import { readRecords } from './segmentReader';
import { SegmentWriter } from './segmentWriter';
import type { EventLogLogger, MalformedHandler } from './types';
import { WriteQueue } from './writeQueue';

export const OUTBOX_PREFIX = 'outbox';
const CURSOR_FILE = 'acked';
const CURSOR_SAVE_MS = 200;
/** Attempts per outbox batch on a failing disk: rides out a transient error, then gives the batch up. */
const WRITE_ATTEMPTS = 3;
/** One "write failed" line per interval during a long disk outage; the dropped metric counts every event. */
const WRITE_ERROR_LOG_INTERVAL_MS = 10_000;
/** Compact the in-memory pending array once this many acked entries sit at its head. */
const COMPACT_AFTER = 4096;

export interface OutboxTuning {
  /** Events waiting (written or not yet) before new ones are dropped and counted. */
  readonly capacity: number;
  readonly maxSegmentBytes: number;
  readonly batchDelayMs: number;
  readonly maxBatch: number;
  readonly fsync: boolean;
}

/** Kept compact (no event object): up to `capacity` of these wait in memory during an outage. */
export interface PendingRecord {
  readonly seq: number;
  /** The event id: the JetStream msgID. */
  readonly id: string;
  readonly subject: string;
  readonly payload: string;
  /** Wall-clock ms when appended (event time for records restored from disk). */
  readonly at: number;
}

export interface OutboxDeps {
  readonly metrics: EventLogMetrics;
  readonly logger: EventLogLogger;
  readonly dropped: DropReporter;
  readonly onMalformed: MalformedHandler;
  readonly subjectOf: (event: LifecycleEvent) => string;
}

export class Outbox {
  private pending: PendingRecord[] = [];
  private head = 0;
  private readonly queue: WriteQueue<{ event: LifecycleEvent; at: number }>;
  private workListeners: (() => void)[] = [];
  private cursorTimer: NodeJS.Timeout | undefined;
  private cursorSaving: Promise<void> = Promise.resolve();
  private closed = false;
  /** The seq of this run's first record: what comes before it was appended by earlier runs. */
  readonly runStartSeq: number;
  private runFirstId: string | undefined;
  private lastWriteErrorLog = -Infinity;

  private constructor(
    private readonly dir: string,
    private readonly writer: SegmentWriter,
    private ackedSeq: number,
    private readonly tuning: OutboxTuning,
    private readonly deps: OutboxDeps,
  ) {
    this.runStartSeq = writer.nextSeq;
    this.queue = new WriteQueue((batch) => this.write(batch), {
      batchDelayMs: tuning.batchDelayMs,
      maxBatch: tuning.maxBatch,
      maxQueued: tuning.capacity,
      // A full or read-only disk costs the batches it refuses (counted), not every event after them.
      maxAttempts: WRITE_ATTEMPTS,
      onSinkError: (err, attempt) => {
        if (attempt === 1 && Date.now() - this.lastWriteErrorLog >= WRITE_ERROR_LOG_INTERVAL_MS) {
          this.lastWriteErrorLog = Date.now();
          deps.logger.error('outbox write failed; batches that keep failing are dropped', {
            err: errorText(err),
          });
        }
      },
      onGiveUp: (batch) => deps.dropped('write-failed', batch.length),
    });
  }

  static async open(dir: string, tuning: OutboxTuning, deps: OutboxDeps): Promise<Outbox> {
    const ackedSeq = await readCursor(dir);
    const writer = await SegmentWriter.open({
      dir,
      prefix: OUTBOX_PREFIX,
      maxSegmentBytes: tuning.maxSegmentBytes,
      minNextSeq: ackedSeq + 1,
      fsync: tuning.fsync,
    });
    const outbox = new Outbox(dir, writer, ackedSeq, tuning, deps);
    for await (const { seq, event } of readRecords(dir, OUTBOX_PREFIX, {
      fromSeq: ackedSeq + 1,
      onMalformed: deps.onMalformed,
    })) {
      const payload = JSON.stringify(event);
      outbox.pending.push({
        seq,
        id: event.id,
        subject: deps.subjectOf(event),
        payload,
        at: Date.parse(event.time),
      });
    }
    if (outbox.pending.length > 0) {
      deps.logger.info('outbox holds events from a previous run; publishing them first', {
        events: outbox.pending.length,
      });
    }
    outbox.updateBacklog();
    return outbox;
  }

  /** Events appended but not yet acked. */
  get backlog(): number {
    return this.queue.length + this.pending.length - this.head;
  }

  /** Takes the event, or returns false when the outbox is full or closed (the caller counts it). */
  add(event: LifecycleEvent): boolean {
    if (this.closed || this.backlog >= this.tuning.capacity) return false;
    // The backlog gauge is updated per written batch: a gauge write per append costs more than the append.
    return this.queue.push({ event, at: Date.now() });
  }

  /** Resolves once everything added so far is on disk. */
  flush(): Promise<void> {
    return this.queue.flush();
  }

  /** The oldest durable records not yet acked, in order. */
  peek(max: number): PendingRecord[] {
    return this.pending.slice(this.head, this.head + max);
  }

  /** Unacked events, durable or not, for replay to add after what the stream returned. */
  unacked(): LifecycleEvent[] {
    return this.pending.slice(this.head).map((r) => JSON.parse(r.payload) as LifecycleEvent);
  }

  /** Unacked events appended by earlier runs (they wait to be published before this run's). */
  unackedFromEarlierRuns(): LifecycleEvent[] {
    const out: LifecycleEvent[] = [];
    for (let i = this.head; i < this.pending.length && this.pending[i]!.seq < this.runStartSeq; i++) {
      out.push(JSON.parse(this.pending[i]!.payload) as LifecycleEvent);
    }
    return out;
  }

  /**
   * The id of this run's first durable event, once there is one. Records are published in order, so in
   * the stream every event of earlier runs comes before it.
   */
  get firstIdOfRun(): string | undefined {
    return this.runFirstId;
  }

  /** The first `count` records returned by `peek` are in the stream. */
  acked(count: number): void {
    const done = this.pending.slice(this.head, this.head + count);
    this.head += done.length;
    const last = done[done.length - 1];
    if (last === undefined) return;
    this.ackedSeq = last.seq;
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.pending.length) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
    const now = Date.now();
    for (const r of done) this.deps.metrics.observePublishLatency(Math.max(0, now - r.at) / 1000);
    this.deps.metrics.addPublished(done.length);
    this.updateBacklog();
    this.cursorTimer ??= setTimeout(() => {
      this.cursorTimer = undefined;
      this.saveCursor();
    }, CURSOR_SAVE_MS);
    if (this.head === this.pending.length && this.queue.length === 0) this.notify();
  }

  /** Resolves when there is something to publish, or `signal` aborts. */
  whenWork(signal: AbortSignal): Promise<void> {
    if (this.head < this.pending.length || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      signal.addEventListener('abort', done);
      this.workListeners.push(done);
    });
  }

  /** Resolves once the backlog is empty (for graceful shutdown and tests), false on timeout. */
  async whenEmpty(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.backlog > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, Math.min(50, deadline - Date.now())));
    }
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } catch (err) {
      this.deps.logger.error('outbox flush failed at close', { err: errorText(err) });
    }
    this.closed = true;
    const lost = await this.queue.stop();
    if (lost.length > 0) this.deps.dropped('closed', lost.length);
    clearTimeout(this.cursorTimer);
    this.saveCursor();
    await this.cursorSaving;
    this.notify();
    await this.writer.close();
  }

  private async write(batch: { event: LifecycleEvent; at: number }[]): Promise<void> {
    const records: Omit<PendingRecord, 'seq'>[] = [];
    for (const { event, at } of batch) {
      try {
        records.push({
          id: event.id,
          at,
          payload: JSON.stringify(event),
          subject: this.deps.subjectOf(event),
        });
      } catch {
        this.deps.dropped('unserializable', 1);
      }
    }
    const first = this.writer.nextSeq;
    await this.writer.append(records.length, (seq, i) => encodeRecord(seq, records[i]!.payload));
    records.forEach((r, i) => this.pending.push({ ...r, seq: first + i }));
    this.runFirstId ??= records[0]?.id;
    this.updateBacklog();
    this.notify();
  }

  private notify(): void {
    for (const l of this.workListeners.splice(0)) l();
  }

  private saveCursor(): void {
    const seq = this.ackedSeq;
    this.cursorSaving = this.cursorSaving.then(async () => {
      try {
        const tmp = join(this.dir, `${CURSOR_FILE}.tmp`);
        await writeFile(tmp, `${seq}\n`);
        await rename(tmp, join(this.dir, CURSOR_FILE));
        await this.writer.removeSegmentsUpTo(seq);
      } catch (err) {
        this.deps.logger.warn('outbox cursor not saved; acked events may be republished', {
          err: errorText(err),
        });
      }
    });
  }

  private updateBacklog(): void {
    this.deps.metrics.setBacklog(this.backlog);
  }
}

async function readCursor(dir: string): Promise<number> {
  try {
    const n = Number.parseInt(await readFile(join(dir, CURSOR_FILE), 'utf8'), 10);
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  } catch {
    return 0;
  }
}
