/**
 * Gives memory back once a burst is over. Under load V8 grows its young generation (to 2 MiB per
 * semi-space under the launchers' cap, 16 MiB without it), and the garbage of connections that came and
 * went sits in the old generation; both stay resident until a collection finds allocation low, and a quiet
 * process runs no collection at all.
 * Browsers tell V8 when a page goes idle and its memory reducer acts on that; Node never does. So after a
 * burst of 2,000 dials a server or agent kept tens of MiB it no longer used, for as long as it stayed quiet.
 *
 * Every CHECK_MS this looks at the event loop and the heap. When the loop has been nearly idle for
 * QUIET_INTERVALS intervals and the heap has grown by MIN_GROWTH_BYTES since the last trim (or, once, since
 * start-up, whose garbage no collection has freed yet), it collects: a scavenge, which now finds
 * allocation slow and shrinks the young generation; a compacting full collection, which frees the old
 * generation's garbage and the sparse pages it leaves; and a second scavenge, which lets the young
 * generation's freed pages go. Then, through the native helper where it was built (nativeMemory.ts), and
 * when glibc holds GLIBC_FREE_FOR_TRIM free, malloc_trim gives those pages back: the buffers of
 * connections that came and went, which glibc keeps resident otherwise. Growth of the process's RSS by
 * MIN_GROWTH_BYTES calls for a trim as the heap's does. The pause, a few tens of milliseconds, falls on a
 * loop that had nothing to do; a busy process is never trimmed.
 */
import { performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from './observability/logger';
import { nativeMemory } from './nativeMemory';

/** How often the loop and the heap are looked at. */
export const CHECK_MS = 5_000;
/** "Nearly idle": the loop was busy for less than this share of the interval. */
export const QUIET_UTILIZATION = 0.05;
/**
 * Quiet intervals in a row before a trim. V8 shrinks the young generation only when the allocation since
 * its previous collection was slow; right after a burst that collection was in the burst, and a trim then
 * would give back nothing and raise the bar for the next one.
 */
export const QUIET_INTERVALS = 2;
/**
 * Heap growth worth a trim. Below it the trim's pause buys little; above it, it is the garbage and sparse
 * pages of thousands of finished connections, or a grown young generation (up to 32 MiB without the
 * launchers' cap on it).
 */
export const MIN_GROWTH_BYTES = 16 * 1024 * 1024;
/** The spaces whose unused pages a trim gives back. */
const TRIMMED_SPACES = new Set(['new_space', 'old_space']);

type Collect = (options?: { type: 'minor' }) => void;

/** Bytes resident in the trimmed spaces, live or not. */
export function heapResident(): number {
  let resident = 0;
  for (const space of getHeapSpaceStatistics()) {
    if (TRIMMED_SPACES.has(space.space_name)) resident += space.physical_space_size;
  }
  return resident;
}

let collect: Collect | null | undefined;

/**
 * What was resident right after the last trim (zero until the first, so that the first quiet spell after
 * start-up trims): only growth beyond it calls for another. Shared with transferTrim.ts.
 */
let residentAfterTrim = 0;
let rssAfterTrim = 0;

/** The V8 heap has grown by MIN_GROWTH_BYTES since the last trim: a full trim has that much to give back. */
export function heapGrown(): boolean {
  return heapResident() - residentAfterTrim >= MIN_GROWTH_BYTES;
}

/**
 * The process's resident set, or null where it cannot be read: Node reads it from /proc, which a chroot or
 * a sandbox may not have (the image's file tree run without /proc threw here).
 */
export function residentBytes(): number | null {
  try {
    return process.memoryUsage.rss();
  } catch {
    return null;
  }
}

/**
 * Free memory in glibc's heap worth giving back. Below it the pages would soon be taken again, one fault at
 * a time: a server with 2,000 idle tunnels holds about 8 MiB free, a transfer of 256 MiB leaves 32 MiB.
 */
export const GLIBC_FREE_FOR_TRIM = 16 * 1024 * 1024;

/** glibc's free pages given back to the system, through the native helper, when there are enough of them. */
function giveBackCHeap(): void {
  const native = nativeMemory();
  if (native !== null && native.freeBytes() >= GLIBC_FREE_FOR_TRIM) native.trim();
}

/**
 * The process's RSS has grown by MIN_GROWTH_BYTES since the last trim; only where glibc's free heap, which
 * counts in it, can be given back.
 */
function rssGrown(): boolean {
  if (nativeMemory()?.glibc !== true) return false;
  const rss = residentBytes();
  return rss !== null && rss - rssAfterTrim >= MIN_GROWTH_BYTES;
}

/**
 * V8's collector, from `--expose-gc` when the operator gave it, otherwise from a context made with the
 * flag on (the main context was made before any flag could be set). Null if this Node refuses.
 */
function collector(): Collect | null {
  if (collect !== undefined) return collect;
  const exposed = (globalThis as { gc?: Collect }).gc;
  if (typeof exposed === 'function') return (collect = exposed);
  try {
    setFlagsFromString('--expose-gc');
    const made = runInNewContext('gc') as unknown;
    collect = typeof made === 'function' ? (made as Collect) : null;
  } catch {
    collect = null;
  } finally {
    // Only this one context gets the function; contexts made later (vm users) do not.
    setFlagsFromString('--no-expose-gc');
  }
  return collect;
}

/**
 * One trim; returns the resident bytes it gave back, or null when no collector is available. The
 * collector should exist before (`prepareTrim`): making it collects garbage, and a trim right after a
 * collection finds a high allocation rate and shrinks nothing.
 */
export function trimHeap(): number | null {
  const gc = collector();
  if (gc === null) return null;
  const before = heapResident();
  gc({ type: 'minor' });
  // A full collection on its own moves objects only off pages its heuristics pick, and leaves the pages a
  // burst left one object in sixteen on (measured: 47 MiB resident for 7.5 MiB live); this one compacts.
  setFlagsFromString('--compact-on-every-full-gc');
  try {
    // Without options: on Node 20, `{ type: 'major' }` runs no full collection at all (measured).
    gc();
  } finally {
    setFlagsFromString('--no-compact-on-every-full-gc');
  }
  // The first scavenge shrank the young generation; this one lets its freed pages go.
  gc({ type: 'minor' });
  // The collections freed the Buffers over what connections read; glibc keeps their pages until told.
  giveBackCHeap();
  residentAfterTrim = heapResident();
  rssAfterTrim = residentBytes() ?? 0;
  return before - residentAfterTrim;
}

/**
 * V8's external memory (ArrayBuffers and the like; 1.4-3.4 MiB in an idle server or agent) still held after
 * a scavenge above which a light trim also runs a full collection: Buffers that waited in a queue long
 * enough to be promoted are freed only by one.
 */
export const EXTERNAL_BYTES_FOR_COLLECTION = 8 * 1024 * 1024;

/**
 * The cheaper trim (transferTrim.ts): a scavenge, which frees the Buffers that recent reads left in the
 * young generation; a full collection without compaction (about 10 ms) only if external memory is still
 * EXTERNAL_BYTES_FOR_COLLECTION or more; then glibc's free pages given back (from GLIBC_FREE_FOR_TRIM).
 * The old generation is not compacted: that is what takes tens of milliseconds. Returns whether it ran
 * the full collection.
 */
export function trimLight(): boolean {
  const gc = collector();
  gc?.({ type: 'minor' });
  const collected = gc !== null && getHeapStatistics().external_memory >= EXTERNAL_BYTES_FOR_COLLECTION;
  if (collected) gc();
  giveBackCHeap();
  rssAfterTrim = residentBytes() ?? 0;
  return collected;
}

/** Makes the collector ahead of a trim; false when this Node has none to give. */
export function prepareTrim(): boolean {
  return collector() !== null;
}

export interface HeapTrimmer {
  stop(): void;
}

export interface HeapTrimOptions {
  readonly checkMs?: number;
  /** Told of every trim (tests, and anyone counting them). */
  readonly onTrim?: (releasedBytes: number, pauseMs: number) => void;
}

/** Checks every CHECK_MS (on an unref'd timer) and trims a quiet process whose heap has grown. */
export function startHeapTrim(log: Logger, options: HeapTrimOptions = {}): HeapTrimmer {
  let last = performance.eventLoopUtilization();
  let quietIntervals = 0;
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    quietIntervals =
      performance.eventLoopUtilization(now, last).utilization < QUIET_UTILIZATION ? quietIntervals + 1 : 0;
    last = now;
    if (quietIntervals === 0) return;
    if (!heapGrown() && !rssGrown()) return;
    if (quietIntervals < QUIET_INTERVALS) {
      if (!prepareTrim()) clearInterval(timer);
      return;
    }
    const started = performance.now();
    let released: number | null;
    try {
      released = trimHeap();
    } catch (err) {
      log.warn('heap trim failed; not trying again', { error: String(err) });
      clearInterval(timer);
      return;
    }
    if (released === null) {
      clearInterval(timer);
      return;
    }
    const pauseMs = performance.now() - started;
    log.debug(2, 'heap trimmed while quiet', {
      releasedMiB: (released / 1048576).toFixed(1),
      pauseMs: pauseMs.toFixed(1),
    });
    options.onTrim?.(released, pauseMs);
    // The trim itself used the loop: measure the next interval from here.
    last = performance.eventLoopUtilization();
    quietIntervals = 0;
  }, options.checkMs ?? CHECK_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
