/**
 * The lifecycle events an inspector shows live: a bounded ring, numbered so that each viewer can ask for
 * "everything after the last one I saw" and learn how many it missed when it fell behind the ring.
 */
import type { LifecycleEvent } from '../events';
import { Ring } from '../ring';

/** Recent events kept for the page's feed: a few minutes of a busy server, about 1 MiB of memory. */
export const FEED_CAPACITY = 2000;
/**
 * Without an event log, events are made only for the page, and making one costs a few microseconds (an
 * id, a timestamp, a copy of its fields): at 1,000 dials/s a server makes 4,000 a second. A viewer is sent
 * at most 200 per frame, two frames a second, so beyond this rate events would be made only to be
 * overwritten before any frame carries them; they are counted instead (`dropped`), not made.
 */
export const UNLOGGED_EVENTS_PER_SECOND = 500;
/** The window UNLOGGED_EVENTS_PER_SECOND is counted over. */
const ADMIT_WINDOW_MS = 1000;

export interface FeedEntry {
  readonly seq: number;
  readonly event: LifecycleEvent;
}

export interface FeedFilter {
  /** An event type (`dial.failed`) or a prefix ending in a dot (`dial.`). */
  readonly type?: string;
  readonly agent?: string;
  readonly destination?: string;
}

export interface FeedSlice {
  readonly events: LifecycleEvent[];
  /** The sequence number of the last event considered; the next call passes it back. */
  readonly lastSeq: number;
  /**
   * Events after `afterSeq` that the ring had already overwritten or that were never made (over
   * UNLOGGED_EVENTS_PER_SECOND), whether or not they match the filter, plus matching ones cut by `max`.
   */
  readonly dropped: number;
}

export function matchesFeedFilter(event: LifecycleEvent, filter: FeedFilter): boolean {
  if (
    filter.type &&
    !(event.type === filter.type || (filter.type.endsWith('.') && event.type.startsWith(filter.type)))
  )
    return false;
  const fields = event as unknown as Record<string, unknown>;
  const field = (name: string): string => {
    const value = fields[name];
    return typeof value === 'string' ? value : '';
  };
  if (filter.agent && !field('agentId').includes(filter.agent)) return false;
  if (filter.destination && !field('destination').includes(filter.destination)) return false;
  return true;
}

export class EventFeed {
  private readonly ring: Ring<FeedEntry>;
  private seq = 0;
  private windowEnds = 0;
  private admitted = 0;

  constructor(
    capacity = FEED_CAPACITY,
    private readonly now: () => number = Date.now,
  ) {
    this.ring = new Ring(capacity);
  }

  /**
   * Whether an event made only for the page may be made now (at most UNLOGGED_EVENTS_PER_SECOND); one
   * that may not takes its sequence number anyway, so viewers learn they missed it.
   */
  admit(): boolean {
    const now = this.now();
    if (now >= this.windowEnds) {
      this.windowEnds = now + ADMIT_WINDOW_MS;
      this.admitted = 0;
    }
    if (this.admitted < UNLOGGED_EVENTS_PER_SECOND) {
      this.admitted++;
      return true;
    }
    this.seq++;
    return false;
  }

  push(event: LifecycleEvent): void {
    this.ring.push({ seq: ++this.seq, event });
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Matching events after `afterSeq`, oldest first, at most `max` of them (the newest are kept). */
  since(afterSeq: number, filter: FeedFilter, max: number): FeedSlice {
    const held = this.ring.toArray().filter((e) => e.seq > afterSeq);
    // Numbers after afterSeq that the ring does not hold: overwritten, or never made.
    let dropped = Math.max(0, this.seq - afterSeq - held.length);
    const matching = held.filter((e) => matchesFeedFilter(e.event, filter));
    if (matching.length > max) dropped += matching.length - max;
    return {
      events: matching.slice(-max).map((e) => e.event),
      lastSeq: this.seq,
      dropped,
    };
  }
}

/**
 * Wraps a process's event factory so that every event it makes also reaches the feed. With a log
 * (`logged`, a recording factory) every event is made anyway and is only handed on. Without one, `raw`
 * makes events only while `wanted()` says someone is looking, and then at most
 * UNLOGGED_EVENTS_PER_SECOND: a process with neither a log nor a viewer builds no events at all.
 */
export function feeding<F extends object>(
  feed: EventFeed,
  wanted: () => boolean,
  logged: F | null,
  raw: F,
): F {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(logged ?? raw)) {
    if (typeof value !== 'function') {
      out[key] = value;
      continue;
    }
    const make = value as (input: unknown) => LifecycleEvent | undefined;
    out[key] = logged
      ? (input: unknown): LifecycleEvent | undefined => {
          const event = make(input);
          if (event !== undefined) feed.push(event);
          return event;
        }
      : (input: unknown): LifecycleEvent | undefined => {
          if (!wanted() || !feed.admit()) return undefined;
          const event = make(input);
          if (event !== undefined) feed.push(event);
          return event;
        };
  }
  return out as F;
}
