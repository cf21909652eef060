/**
 * The single writer of a segment directory: appends batches of records with one write and one
 * fsync per batch (the "batched" fsync policy: durability at the cost of one sync per batch, not per
 * event), rotates by size, and applies retention. One writer per directory: nothing else may append.
 */
import { mkdir, open, stat, unlink, type FileHandle } from 'node:fs/promises';
import { lockDirectory, type ReleaseLock } from './dirLock';
import { decodeRecord } from './record';
import { listSegments, readLines, segmentPath, type SegmentFile } from './segmentFiles';

export interface SegmentWriterOptions {
  readonly dir: string;
  readonly prefix: string;
  readonly maxSegmentBytes: number;
  /** Delete the oldest segments beyond these after a rotation; unset keeps everything. */
  readonly retainSegments?: number;
  readonly retainBytes?: number;
  /** The seq to use when the directory holds no record (the outbox continues after its cursor). */
  readonly minNextSeq?: number;
  /** false skips fsync (tests and throw-away logs only). */
  readonly fsync?: boolean;
  /**
   * Runs before retention deletes anything (the file log saves a checkpoint here, so what is deleted is
   * already folded into one). A failure is the hook's own business: retention runs anyway, since a
   * bounded disk matters more than a fast start.
   */
  readonly beforeRetention?: () => Promise<void>;
  /** False defers retention (the file log: until recovery has read what retention would delete). */
  readonly retentionAllowed?: () => boolean;
}

/** How much of the last segment to scan at start-up for its last good record before reading it all. */
const TAIL_SCAN_BYTES = 1024 * 1024;

export class SegmentWriter {
  private closed = false;
  /** A failed write may have left half a line; the next write starts on a fresh line. */
  private needsNewline = false;

  private constructor(
    private readonly opts: SegmentWriterOptions,
    private readonly release: ReleaseLock,
    private handle: FileHandle,
    private path: string,
    private size: number,
    private seq: number,
  ) {}

  /** Throws EventLogError('locked') when another writer has the directory open. */
  static async open(opts: SegmentWriterOptions): Promise<SegmentWriter> {
    await mkdir(opts.dir, { recursive: true });
    const release = await lockDirectory(opts.dir);
    try {
      return await SegmentWriter.openLocked(opts, release);
    } catch (err) {
      await release();
      throw err;
    }
  }

  private static async openLocked(opts: SegmentWriterOptions, release: ReleaseLock): Promise<SegmentWriter> {
    const segments = await listSegments(opts.dir, opts.prefix);
    const last = segments[segments.length - 1];
    if (last === undefined) {
      const first = Math.max(opts.minNextSeq ?? 1, 1);
      const path = segmentPath(opts.dir, opts.prefix, first);
      const handle = await open(path, 'a');
      return new SegmentWriter(opts, release, handle, path, 0, first);
    }
    const { size } = await stat(last.path);
    const found = await lastSeqIn(last, size);
    const handle = await open(last.path, 'a');
    const next = Math.max(found + 1, opts.minNextSeq ?? 1);
    const writer = new SegmentWriter(opts, release, handle, last.path, size, next);
    // A crash mid-write leaves an unterminated record; keep it (replay reports it) but never glue the
    // next record onto it.
    writer.needsNewline = size > 0 && !(await endsWithNewline(last.path, size));
    return writer;
  }

  /** The segment being written and its size: where the next record goes. */
  get end(): { path: string; offset: number } {
    return { path: this.path, offset: this.size };
  }

  /** The seq the next appended record gets. */
  get nextSeq(): number {
    return this.seq;
  }

  /**
   * Appends records built by `encode(seq, i)` for `count` consecutive seqs, durably. On failure
   * nothing is counted as written and the same seqs are reused on retry; readers skip a seq they
   * have already seen, so a partially written batch that is written again is not duplicated.
   */
  async append(count: number, encode: (seq: number, index: number) => string): Promise<void> {
    if (this.closed) throw new Error('segment writer is closed');
    if (count === 0) return;
    let text = this.needsNewline ? '\n' : '';
    for (let i = 0; i < count; i++) text += encode(this.seq + i, i);
    try {
      await this.handle.write(text);
      if (this.opts.fsync !== false) await this.handle.datasync();
    } catch (err) {
      this.needsNewline = true;
      throw err;
    }
    this.needsNewline = false;
    this.size += Buffer.byteLength(text);
    this.seq += count;
    if (this.size >= this.opts.maxSegmentBytes) await this.rotate();
  }

  /** Deletes whole segments whose records all have seq <= `seq` (never the one being written). */
  async removeSegmentsUpTo(seq: number): Promise<void> {
    const segments = await listSegments(this.opts.dir, this.opts.prefix);
    for (let i = 0; i + 1 < segments.length; i++) {
      if (segments[i + 1]!.firstSeq > seq + 1) break;
      await unlinkQuietly(segments[i]!.path);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.handle.close();
    } finally {
      await this.release();
    }
  }

  private async rotate(): Promise<void> {
    await this.handle.close();
    this.path = segmentPath(this.opts.dir, this.opts.prefix, this.seq);
    this.handle = await open(this.path, 'a');
    this.size = 0;
    await this.applyRetention();
  }

  /** Deletes the oldest segments beyond the retention bounds (never the one being written). */
  async applyRetention(): Promise<void> {
    const { retainSegments, retainBytes } = this.opts;
    if (retainSegments === undefined && retainBytes === undefined) return;
    if (this.opts.retentionAllowed?.() === false) return;
    await this.opts.beforeRetention?.().catch(() => undefined);
    const segments = await listSegments(this.opts.dir, this.opts.prefix);
    const sizes = await Promise.all(
      segments.map((s) =>
        stat(s.path).then(
          (st) => st.size,
          () => 0,
        ),
      ),
    );
    let total = sizes.reduce((a, b) => a + b, 0);
    let count = segments.length;
    for (let i = 0; i + 1 < segments.length; i++) {
      const tooMany = retainSegments !== undefined && count > retainSegments;
      const tooBig = retainBytes !== undefined && total > retainBytes;
      if (!tooMany && !tooBig) break;
      await unlinkQuietly(segments[i]!.path);
      total -= sizes[i]!;
      count--;
    }
  }
}

/** The highest seq of a valid record in the segment, or firstSeq - 1 when it holds none. */
async function lastSeqIn(segment: SegmentFile, size: number): Promise<number> {
  const fromTail = await scanForLastSeq(segment.path, Math.max(0, size - TAIL_SCAN_BYTES));
  if (fromTail !== undefined) return fromTail;
  return (size > TAIL_SCAN_BYTES ? await scanForLastSeq(segment.path, 0) : undefined) ?? segment.firstSeq - 1;
}

async function scanForLastSeq(path: string, offset: number): Promise<number | undefined> {
  let last: number | undefined;
  for await (const line of readLines(path, offset)) {
    const record = decodeRecord(line.text, line.complete);
    if (record.ok) last = Math.max(last ?? record.seq, record.seq);
  }
  return last;
}

async function endsWithNewline(path: string, size: number): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, size - 1);
    return byte[0] === 0x0a;
  } finally {
    await handle.close();
  }
}

async function unlinkQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
