/**
 * The embedded event log: append-only JSON-lines segments under the data directory. Appends go to an
 * in-memory queue; one loop writes them in batches with one fsync per batch. The log is bounded by size
 * (oldest segments go first) and keeps a checkpoint of its folded state, so start-up reads the checkpoint
 * plus the records after it. A disk that refuses writes (full, read-only) costs the events of the failed
 * batches, counted as dropped; it never stops or slows the tunnel.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { LifecycleEvent } from '../events';
import { CHECKPOINT_FILE, readCheckpoint, writeCheckpoint } from './checkpoint';
import type { DropReporter } from './dropReporter';
import { DurableFold } from './durableFold';
import { EventLogError, errorText } from './errors';
import type { EventLog } from './eventLogApi';
import type { EventLogMetrics } from './metrics';
import { encodeRecord } from './record';
import { fold } from './recovery';
import { initialState, type RecoveryState } from './recoveryState';
import { readRecords } from './segmentReader';
import { SegmentWriter } from './segmentWriter';
import { matchesReplay, type EventLogLogger, type MalformedHandler, type ReplayOptions } from './types';
import { WriteQueue } from './writeQueue';

export const EVENTS_PREFIX = 'events';

export interface FileLogTuning {
  /** Rotation size; a segment is the unit retention deletes. Unset: an eighth of `retainBytes`, at most 32 MiB. */
  readonly maxSegmentBytes?: number;
  /** Total size the log is kept under: the oldest segments are deleted beyond it. */
  readonly retainBytes: number;
  readonly retainSegments?: number;
  readonly batchDelayMs: number;
  readonly maxBatch: number;
  /** Bound on events waiting in memory for a stuck disk; beyond it appends are dropped and counted. */
  readonly maxQueued: number;
  readonly fsync: boolean;
  /** A checkpoint is saved after this many written events (and at every rotation and at close). */
  readonly checkpointEvery: number;
}

/** 256 MiB: about a million connections of history, and a start-up that never folds more than that. */
export const DEFAULT_MAX_LOG_BYTES = 256 * 1024 * 1024;
/** Large enough that rotation (a file open and a directory listing) is rare, small enough to delete in steps. */
const MAX_SEGMENT_BYTES = 32 * 1024 * 1024;
/** Retention needs several segments to delete the oldest one at a time without a big swing in size. */
const SEGMENTS_PER_BOUND = 8;
/**
 * Attempts per batch on a failing disk (200 ms, then 400 ms apart): rides out a transient error; a full or
 * read-only disk then costs that batch, not the memory of everything that follows.
 */
const WRITE_ATTEMPTS = 3;
/** One "write failed" line per interval during a long disk outage; the dropped metric counts every event. */
const WRITE_ERROR_LOG_INTERVAL_MS = 10_000;

export const FILE_LOG_DEFAULTS: FileLogTuning = {
  retainBytes: DEFAULT_MAX_LOG_BYTES,
  // One write + fsync per batch. 50 ms is invisible to a human tailing events; against 5 ms it cut server +
  // agent CPU per sequential dial by about 9 % (bench:dial-cost, 5 interleaved rounds, 2026-11-30), since
  // a batch then holds the events of tens of dials instead of two or three. Under a steady stream it is
  // also the pace of writes (writeQueue.ts). A crash loses at most the last 50 ms of events and the writes
  // under way, and recovery closes what they would have closed.
  batchDelayMs: 50,
  maxBatch: 2000,
  // Only reached if the disk stalls; ~100 MB of queued events at most.
  maxQueued: 200_000,
  fsync: true,
  // ~25 MB of records: folding that many at start-up takes well under a second.
  checkpointEvery: 100_000,
};

export interface FileLogDeps {
  readonly metrics: EventLogMetrics;
  readonly logger: EventLogLogger;
  readonly dropped: DropReporter;
  readonly onMalformed: MalformedHandler;
  readonly tuning?: Partial<FileLogTuning>;
}

interface Queued {
  readonly event: LifecycleEvent;
  readonly at: number;
  /** Serialised once, on the first write attempt; null if it cannot be. */
  json?: string | null;
}

export function segmentBytesFor(tuning: Pick<FileLogTuning, 'maxSegmentBytes' | 'retainBytes'>): number {
  return (
    tuning.maxSegmentBytes ??
    Math.max(64 * 1024, Math.min(MAX_SEGMENT_BYTES, Math.floor(tuning.retainBytes / SEGMENTS_PER_BOUND)))
  );
}

export class FileEventLog implements EventLog {
  readonly backend = 'file' as const;
  private closing: Promise<void> | undefined;
  private readonly queue: WriteQueue<Queued>;
  /** Writes, recovery and checkpoints take turns: none of them sees another half done. */
  private turn: Promise<unknown> = Promise.resolve();
  readonly durable: DurableFold;
  private recovering: Promise<RecoveryState> | undefined;
  private lastWriteErrorLog = -Infinity;

  private constructor(
    readonly dir: string,
    private readonly writer: SegmentWriter,
    private readonly deps: FileLogDeps,
    private readonly tuning: FileLogTuning,
    /** The seq of this run's first record: recovery folds everything before it. */
    private readonly runStartSeq: number,
    /** Where earlier runs' records end: recovery reads nothing this run writes, not even half a line. */
    private readonly runStart: { readonly path: string; readonly offset: number },
  ) {
    this.durable = new DurableFold(runStartSeq - 1);
    this.queue = new WriteQueue((batch) => this.exclusive(() => this.write(batch)), {
      batchDelayMs: tuning.batchDelayMs,
      maxBatch: tuning.maxBatch,
      maxQueued: tuning.maxQueued,
      maxAttempts: WRITE_ATTEMPTS,
      onSinkError: (err, attempt) => this.logWriteError(err, attempt),
      onGiveUp: (batch) => deps.dropped('write-failed', batch.length),
    });
  }

  static async open(dir: string, deps: FileLogDeps): Promise<FileEventLog> {
    const tuning = { ...FILE_LOG_DEFAULTS, ...deps.tuning };
    const writer: SegmentWriter = await SegmentWriter.open({
      dir,
      prefix: EVENTS_PREFIX,
      maxSegmentBytes: segmentBytesFor(tuning),
      retainSegments: tuning.retainSegments,
      retainBytes: tuning.retainBytes,
      fsync: tuning.fsync,
      // Retention runs inside a write or recovery turn: the checkpoint is saved in that same turn.
      // Only called on rotation or after recovery, both after `log` below exists.
      beforeRetention: () => log.saveCheckpointNow(),
      // Deferred only while a recovery is reading what retention would delete.
      retentionAllowed: () => !log.recoveryRunning,
    });
    const log = new FileEventLog(dir, writer, deps, tuning, writer.nextSeq, writer.end);
    return log;
  }

  append(event: LifecycleEvent): void {
    try {
      if (this.closing !== undefined) return this.deps.dropped('closed', 1);
      // The backlog gauge is updated by the writer, per batch: a gauge write per append costs more
      // than the append itself.
      if (!this.queue.push({ event, at: performance.now() })) return this.deps.dropped('queue-full', 1);
    } catch {
      this.deps.dropped('internal', 1);
    }
  }

  flush(): Promise<void> {
    return this.queue.flush();
  }

  get recoveryRunning(): boolean {
    return this.recovering !== undefined && !this.durable.isRecovered;
  }

  recover(): Promise<RecoveryState> {
    // Not a turn of its own: writes go on while it reads what earlier runs left (up to `runStart`).
    this.recovering ??= this.foldEarlierRuns().then(async (state) => {
      await this.saveCheckpoint();
      // Only now: whatever retention deletes is in the checkpoint just saved.
      await this.exclusive(() => this.writer.applyRetention()).catch((err: unknown) =>
        this.deps.logger.warn('event log retention failed', { err: errorText(err) }),
      );
      return state;
    });
    return this.recovering;
  }

  async *replay(opts?: ReplayOptions): AsyncIterable<LifecycleEvent> {
    if (this.closing === undefined) await this.flushForRead();
    for await (const { event } of readRecords(this.dir, EVENTS_PREFIX, {
      onMalformed: this.deps.onMalformed,
    })) {
      if (matchesReplay(event, opts)) yield event;
    }
  }

  readAll(): AsyncIterable<LifecycleEvent> {
    return this.replay();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.flushForRead();
      const lost = await this.queue.stop();
      if (lost.length > 0) this.deps.dropped('closed', lost.length);
      await this.recovering?.catch(() => undefined);
      await this.saveCheckpoint();
      await this.exclusive(() => this.writer.close());
    })();
    return this.closing;
  }

  /** The checkpoint if usable, then every record after it written before this run. */
  private async foldEarlierRuns(): Promise<RecoveryState> {
    if (this.closing !== undefined) throw new EventLogError('closed', 'the event log was closed');
    const path = join(this.dir, CHECKPOINT_FILE);
    const { checkpoint, why } = await readCheckpoint(path);
    let from = initialState();
    let fromSeq = 1;
    if (checkpoint !== undefined && checkpoint.position < this.runStartSeq) {
      from = checkpoint.state;
      fromSeq = checkpoint.position + 1;
    } else if (checkpoint !== undefined || why !== undefined) {
      this.deps.logger.warn('event log checkpoint not usable; folding the whole log', {
        why: why ?? `it is ahead of the log (seq ${checkpoint?.position})`,
      });
    }
    const end = this.runStartSeq;
    const closed = (): boolean => this.closing !== undefined;
    const records = readRecords(this.dir, EVENTS_PREFIX, {
      fromSeq,
      until: this.runStart,
      onMalformed: this.deps.onMalformed,
    });
    const state = await fold(
      (async function* () {
        for await (const r of records) {
          // Shutdown does not wait for a long first fold; the next start does it again.
          if (closed()) throw new EventLogError('closed', 'the event log was closed during recovery');
          if (r.seq >= end) return;
          yield r.event;
        }
      })(),
      from,
    );
    // In a turn: no batch is between its write and its fold while the earlier state is added.
    await this.exclusive(async () => this.durable.recovered(state));
    return state;
  }

  private saveCheckpoint(): Promise<void> {
    return this.exclusive(() => this.saveCheckpointNow());
  }

  /** Only from inside a turn (or before any can run). */
  private async saveCheckpointNow(): Promise<void> {
    const checkpoint = this.durable.checkpoint();
    if (checkpoint === undefined) return;
    try {
      await writeCheckpoint(join(this.dir, CHECKPOINT_FILE), checkpoint, this.tuning.fsync);
    } catch (err) {
      this.deps.logger.warn('event log checkpoint not saved; the next start folds more of the log', {
        err: errorText(err),
      });
    }
  }

  /** Runs `f` after everything queued before it; a failure is returned to the caller, the turn moves on. */
  private exclusive<T>(f: () => Promise<T>): Promise<T> {
    const run = this.turn.then(f, f);
    this.turn = run.catch(() => undefined);
    return run;
  }

  /** Replay and close should see everything appended, but a failing disk must not stop them. */
  private async flushForRead(): Promise<void> {
    try {
      await this.flush();
    } catch (err) {
      this.deps.logger.error('event log flush failed', { err: String(err) });
    }
  }

  private logWriteError(err: unknown, attempt: number): void {
    const now = performance.now();
    if (now - this.lastWriteErrorLog < WRITE_ERROR_LOG_INTERVAL_MS) return;
    this.lastWriteErrorLog = now;
    this.deps.logger.error('event log write failed; events of batches that keep failing are dropped', {
      err: errorText(err),
      attempt,
    });
  }

  private serialise(event: LifecycleEvent): string | null {
    try {
      return JSON.stringify(event);
    } catch {
      // A bigint or a cycle smuggled past the factory: one bad event must not block the others.
      this.deps.dropped('unserializable', 1);
      return null;
    }
  }

  private async write(batch: Queued[]): Promise<void> {
    const lines: string[] = [];
    const events: LifecycleEvent[] = [];
    for (const q of batch) {
      q.json ??= this.serialise(q.event);
      if (q.json !== null) {
        lines.push(q.json);
        events.push(q.event);
      }
    }
    await this.writer.append(lines.length, (seq, i) => encodeRecord(seq, lines[i]!));
    this.durable.written(this.writer.nextSeq - 1, events);
    const now = performance.now();
    for (const q of batch) this.deps.metrics.observePublishLatency((now - q.at) / 1000);
    this.deps.metrics.addPublished(lines.length);
    this.deps.metrics.setBacklog(Math.max(0, this.queue.length - batch.length));
    if (this.durable.pending >= this.tuning.checkpointEvery) void this.saveCheckpoint();
  }
}
