/**
 * The lifecycle events an inspector shows live: a bounded ring, numbered so that each viewer can ask for
 * "everything after the last one I saw" and learn how many it missed when it fell behind the ring.
 */
import type { LifecycleEvent } from '../events';
import { Ring } from './ring';

/** Recent events kept for the page's feed: a few minutes of a busy server, about 1 MiB of memory. */
export const FEED_CAPACITY = 2000;

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
  /** Events after `afterSeq` that the ring had already overwritten, or that were cut by `max`. */
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

  constructor(capacity = FEED_CAPACITY) {
    this.ring = new Ring(capacity);
  }

  push(event: LifecycleEvent): void {
    this.ring.push({ seq: ++this.seq, event });
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Matching events after `afterSeq`, oldest first, at most `max` of them (the newest are kept). */
  since(afterSeq: number, filter: FeedFilter, max: number): FeedSlice {
    const entries = this.ring.toArray();
    const oldest = entries[0]?.seq ?? this.seq + 1;
    let dropped = Math.max(0, oldest - afterSeq - 1);
    const matching = entries.filter((e) => e.seq > afterSeq && matchesFeedFilter(e.event, filter));
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
 * makes events only while `wanted()` says someone is looking: a process with neither a log nor a viewer
 * builds no events at all, as before.
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
          if (!wanted()) return undefined;
          const event = make(input);
          if (event !== undefined) feed.push(event);
          return event;
        };
  }
  return out as F;
}
