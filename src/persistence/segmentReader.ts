/**
 * Reading a segment directory: a one-shot scan for replay and a polling follower for
 * `konnectivity-events tail --follow`. Bad records are reported through `onMalformed` and skipped;
 * nothing in a log can make recovery throw.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LifecycleEvent } from '../events';
import { decodeRecord } from './record';
import { listSegments, readLines } from './segmentFiles';
import type { MalformedHandler } from './types';

export interface StoredEvent {
  readonly seq: number;
  readonly event: LifecycleEvent;
}

export interface ReadOptions {
  /** Only records with seq >= fromSeq. */
  readonly fromSeq?: number;
  /** Stop at this byte of this segment (what was there when a writer opened it); later segments are not read. */
  readonly until?: { readonly path: string; readonly offset: number };
  readonly onMalformed?: MalformedHandler;
}

export async function* readRecords(
  dir: string,
  prefix: string,
  opts: ReadOptions = {},
): AsyncGenerator<StoredEvent> {
  const fromSeq = opts.fromSeq ?? 0;
  const segments = await listSegments(dir, prefix);
  let lastSeq = fromSeq - 1;
  for (let i = 0; i < segments.length; i++) {
    const next = segments[i + 1];
    if (next !== undefined && next.firstSeq <= fromSeq) continue;
    const segment = segments[i]!;
    const end = opts.until?.path === segment.path ? opts.until.offset : undefined;
    for await (const line of readLines(segment.path, 0, end ?? Infinity)) {
      if (line.text === '') continue;
      // Records before `fromSeq` in the first segment read are skipped without being decoded: after a
      // checkpoint that is most of a 32 MiB segment.
      if (fromSeq > 0 && seqOf(line.text) < fromSeq) continue;
      const stored = decodeAfter(lastSeq, segment.path, line, opts);
      if (stored === undefined) continue;
      lastSeq = stored.seq;
      yield stored;
    }
    if (end !== undefined) return;
  }
}

/**
 * The record on a line, if it is one and comes after `lastSeq`; a malformed line is reported and skipped.
 * A seq at or below the last one is a batch rewritten after a failed write: already delivered.
 */
function decodeAfter(
  lastSeq: number,
  path: string,
  line: { readonly text: string; readonly end: number; readonly complete: boolean },
  opts: ReadOptions,
): StoredEvent | undefined {
  const record = decodeRecord(line.text, line.complete);
  if (!record.ok) {
    opts.onMalformed?.({ source: `${path}@${line.end}`, problem: record.problem, detail: record.detail });
    return undefined;
  }
  return record.seq <= lastSeq ? undefined : { seq: record.seq, event: record.event };
}

const SEQ_PREFIX = /^\{"seq":(\d+),/;

/** The seq a record line starts with, or Infinity when it does not look like one (decode reports it). */
function seqOf(line: string): number {
  const m = SEQ_PREFIX.exec(line);
  return m === null ? Infinity : Number(m[1]);
}

export interface FollowOptions extends ReadOptions {
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
}

/** Often enough to feel live in a terminal, rare enough to cost nothing. */
const DEFAULT_POLL_MS = 250;

/**
 * Everything in the directory, then new records as the writer appends them, until `signal` aborts.
 * A trailing line without a newline is held back until the writer completes it (it is a write in
 * progress, not corruption).
 */
export async function* followRecords(
  dir: string,
  prefix: string,
  opts: FollowOptions = {},
): AsyncGenerator<StoredEvent> {
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  let lastSeq = (opts.fromSeq ?? 0) - 1;
  let current: { path: string; firstSeq: number; offset: number } | undefined;
  while (opts.signal?.aborted !== true) {
    const segments = await listSegments(dir, prefix);
    if (current === undefined || !segments.some((s) => s.path === current!.path)) {
      // First pass, or our segment was deleted by retention: continue at the oldest that may be newer.
      const start = segments.find((s, i) => (segments[i + 1]?.firstSeq ?? Infinity) > lastSeq + 1);
      current = start && { ...start, offset: 0 };
    }
    let progressed = false;
    if (current !== undefined) {
      for await (const line of readLines(current.path, current.offset)) {
        if (!line.complete) break;
        current.offset = line.end;
        progressed = true;
        if (line.text === '') continue;
        const stored = decodeAfter(lastSeq, current.path, line, opts);
        if (stored === undefined) continue;
        lastSeq = stored.seq;
        yield stored;
      }
      const next = segments.find((s) => s.firstSeq > current!.firstSeq);
      if (!progressed && next !== undefined) {
        current = { ...next, offset: 0 };
        continue;
      }
    }
    if (!progressed) await sleepUnlessAborted(pollMs, opts.signal);
  }
}

async function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // Aborted: the loop condition ends the generator.
  }
}
