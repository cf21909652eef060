/**
 * The embedded event log: append-only JSON-lines segments under the data directory. Appends go to an
 * in-memory queue; one loop writes them in batches with one fsync per batch.
 */
import { performance } from 'node:perf_hooks';
import type { LifecycleEvent } from '../events';
import type { DropReporter } from './dropReporter';
import type { EventLog } from './eventLogApi';
import type { EventLogMetrics } from './metrics';
import { encodeRecord } from './record';
import { readRecords } from './segmentReader';
import { SegmentWriter } from './segmentWriter';
import { matchesReplay, type EventLogLogger, type MalformedHandler, type ReplayOptions } from './types';
import { WriteQueue } from './writeQueue';

export const EVENTS_PREFIX = 'events';

export interface FileLogTuning {
  /** Rotation size; a segment is the unit retention deletes. */
  readonly maxSegmentBytes: number;
  readonly retainSegments: number;
  readonly retainBytes?: number;
  readonly batchDelayMs: number;
  readonly maxBatch: number;
  /** Bound on events waiting in memory for a stuck disk; beyond it appends are dropped and counted. */
  readonly maxQueued: number;
  readonly fsync: boolean;
}

export const FILE_LOG_DEFAULTS: FileLogTuning = {
  maxSegmentBytes: 32 * 1024 * 1024,
  // 16 x 32 MiB keeps roughly a few million events: weeks of audit trail for a busy control plane.
  retainSegments: 16,
  // One write + fsync per batch: 5 ms is invisible to a human tailing events and batches any burst.
  batchDelayMs: 5,
  maxBatch: 2000,
  // Only reached if the disk stalls; ~100 MB of queued events at most.
  maxQueued: 200_000,
  fsync: true,
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

export class FileEventLog implements EventLog {
  readonly backend = 'file' as const;
  private closing: Promise<void> | undefined;
  private readonly queue: WriteQueue<Queued>;

  private constructor(
    readonly dir: string,
    private readonly writer: SegmentWriter,
    private readonly deps: FileLogDeps,
    tuning: FileLogTuning,
  ) {
    this.queue = new WriteQueue((batch) => this.write(batch), {
      batchDelayMs: tuning.batchDelayMs,
      maxBatch: tuning.maxBatch,
      maxQueued: tuning.maxQueued,
      onSinkError: (err, attempt) =>
        deps.logger.error('event log write failed; retrying', { err: String(err), attempt }),
    });
  }

  static async open(dir: string, deps: FileLogDeps): Promise<FileEventLog> {
    const tuning = { ...FILE_LOG_DEFAULTS, ...deps.tuning };
    const writer = await SegmentWriter.open({
      dir,
      prefix: EVENTS_PREFIX,
      maxSegmentBytes: tuning.maxSegmentBytes,
      retainSegments: tuning.retainSegments,
      retainBytes: tuning.retainBytes,
      fsync: tuning.fsync,
    });
    return new FileEventLog(dir, writer, deps, tuning);
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
      await this.writer.close();
    })();
    return this.closing;
  }

  /** Replay and close should see everything appended, but a failing disk must not stop them. */
  private async flushForRead(): Promise<void> {
    try {
      await this.flush();
    } catch (err) {
      this.deps.logger.error('event log flush failed', { err: String(err) });
    }
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
    for (const q of batch) {
      q.json ??= this.serialise(q.event);
      if (q.json !== null) lines.push(q.json);
    }
    await this.writer.append(lines.length, (seq, i) => encodeRecord(seq, lines[i]!));
    const now = performance.now();
    for (const q of batch) this.deps.metrics.observePublishLatency((now - q.at) / 1000);
    this.deps.metrics.addPublished(lines.length);
    this.deps.metrics.setBacklog(Math.max(0, this.queue.length - batch.length));
  }
}
