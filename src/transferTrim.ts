/**
 * Gives back the memory a large transfer grew, once the data stops. Node reads every socket into a 64 KiB
 * buffer from glibc's heap, freed only once V8 collects the Buffer over it; a transfer at full speed cycles
 * hundreds of them, with longer-lived allocations landing between. After 3 x 256 MiB each way, server and
 * agent each kept about 36 MiB of glibc's heap resident that was already free, for good: glibc returns
 * only the top of its heap by itself (docs/memory.md).
 *
 * When a connection that moved LARGE_TRANSFER_BYTES ends, this waits until the process's connections
 * move less than QUIET_BYTES in a SETTLE_MS window (another transfer under way would only take the memory
 * again, page by page), then trims: a scavenge, and a full collection if Buffers it could not free still
 * hold memory (heapTrim.ts `trimLight`), then malloc_trim through the native helper (src/nativeMemory.ts)
 * when glibc holds heapTrim.ts's GLIBC_FREE_FOR_TRIM free, which returns every free page; 1-25 ms. When
 * the V8 heap has also grown by heapTrim.ts's MIN_GROWTH_BYTES since the last trim (dials that came and
 * went leave that much garbage in the old generation), it is the moment for the full trim, which also
 * compacts the old generation; the quiet-time trim would otherwise wait for ten seconds without work,
 * which a busy process may never have. At most one trim runs per
 * MIN_INTERVAL_MS, and one full trim per FULL_MIN_INTERVAL_MS.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from './observability/logger';
import { heapGrown, residentBytes, trimHeap, trimLight } from './heapTrim';
import { nativeMemory, type NativeMemory } from './nativeMemory';

/** A transfer worth a trim when it ends: it cycled this much through glibc's heap, in 64 KiB reads. */
export const LARGE_TRANSFER_BYTES = 16 * 1024 * 1024;
/** The window in which the data path must be nearly still before a trim. */
export const SETTLE_MS = 250;
/** "Nearly still": fewer bytes than this moved by all connections in a SETTLE_MS window. */
export const QUIET_BYTES = 1024 * 1024;
/** The least time between two trims. */
export const MIN_INTERVAL_MS = 1_000;
/** The least time between two full trims (tens of milliseconds each). */
export const FULL_MIN_INTERVAL_MS = 5_000;

export interface TransferTrimOptions {
  /**
   * Told of every trim: resident bytes given back (negative if the process grew meanwhile; null where the
   * RSS cannot be read), the pause, and whether it was the full trim.
   */
  readonly onTrim?: (releasedBytes: number | null, pauseMs: number, full: boolean) => void;
  /** The helper whose presence decides whether to start; the one built at install by default. */
  readonly native?: NativeMemory | null;
  readonly minIntervalMs?: number;
  readonly settleMs?: number;
}

interface Trimmer {
  readonly log: Logger;
  readonly options: TransferTrimOptions;
  timer: NodeJS.Timeout | null;
  /** `moved` when the current settle window began. */
  movedAtMark: number;
  lastAt: number;
  lastFullAt: number;
}

let trimmer: Trimmer | null = null;
/** Payload bytes every connection of this process has moved, both ways. */
let moved = 0;

/** From every connection's data path (dialedConnection.ts): `bytes` moved, either way. */
export function dataMoved(bytes: number): void {
  moved += bytes;
}

/**
 * From every connection's end (both sides, dialedConnection.ts): `bytes` it moved, both ways. Does nothing
 * until `startTransferTrim`, and for small connections.
 */
export function transferEnded(bytes: number): void {
  if (trimmer === null || bytes < LARGE_TRANSFER_BYTES || trimmer.timer !== null) return;
  const t = trimmer;
  const sinceLast = performance.now() - t.lastAt;
  const minInterval = t.options.minIntervalMs ?? MIN_INTERVAL_MS;
  arm(t, Math.max(t.options.settleMs ?? SETTLE_MS, minInterval - sinceLast));
}

function arm(t: Trimmer, wait: number): void {
  t.movedAtMark = moved;
  t.timer = setTimeout(() => settled(t), wait);
  t.timer.unref();
}

/** The end of a settle window: trim if the data path was nearly still in it, else wait for another. */
function settled(t: Trimmer): void {
  if (moved - t.movedAtMark >= QUIET_BYTES) {
    arm(t, t.options.settleMs ?? SETTLE_MS);
    return;
  }
  t.timer = null;
  trim(t);
}

function trim(t: Trimmer): void {
  const started = performance.now();
  const before = residentBytes();
  const full = heapGrown() && started - t.lastFullAt >= FULL_MIN_INTERVAL_MS;
  let kind: 'full' | 'collected' | 'light' = 'full';
  try {
    if (full) trimHeap();
    else kind = trimLight() ? 'collected' : 'light';
  } catch (err) {
    t.log.warn('giving back the heap after a transfer failed; not trying again', { error: String(err) });
    stopTransferTrim();
    return;
  }
  const pauseMs = performance.now() - started;
  t.lastAt = performance.now();
  if (full) t.lastFullAt = t.lastAt;
  const after = residentBytes();
  const released = before !== null && after !== null ? before - after : null;
  t.log.debug(2, 'heap given back after a large transfer', {
    releasedMiB: released === null ? 'unknown' : (released / 1048576).toFixed(1),
    pauseMs: pauseMs.toFixed(1),
    kind,
  });
  t.options.onTrim?.(released, pauseMs, full);
}

/**
 * Trims after large transfers from now on; false (and nothing started) where the native helper is missing
 * or cannot trim.
 */
export function startTransferTrim(log: Logger, options: TransferTrimOptions = {}): boolean {
  const native = options.native === undefined ? nativeMemory() : options.native;
  if (native === null || !native.glibc) return false;
  stopTransferTrim();
  trimmer = { log, options, timer: null, movedAtMark: 0, lastAt: -Infinity, lastFullAt: -Infinity };
  return true;
}

export function stopTransferTrim(): void {
  if (trimmer?.timer) clearTimeout(trimmer.timer);
  trimmer = null;
}
