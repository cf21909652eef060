/**
 * The transitions of the actors a viewer has open (the page's detail view, a tool asking for one actor):
 * only those are recorded, each through its own actor system's inspection hook, attached when the actor
 * is first asked for and removed when no one has asked for it for WATCH_IDLE_MS. Every other actor runs
 * with no hook at all, so XState builds no inspection events for it and a dial costs the same with a page
 * open as without.
 */
import type { InspectionEvent, Subscription } from 'xstate';
import type { LiveActor } from '../actors/actorHost';
import type { TransitionRecord } from './actorRecords';
import { Ring } from '../ring';
import { stateKey } from './stateValue';

/** Transitions kept per watched actor: a connection's whole life is 3-5; a long-lived link's last few hours. */
export const TRANSITIONS_PER_ACTOR = 32;
/**
 * Actors watched at once. The page opens one at a time and each viewer's refresh keeps it open; this
 * bounds what a tool asking for many ids can make the process record.
 */
export const MAX_WATCHED = 64;
/**
 * A watch ends when no one has asked for its actor for this long: the page asks once a second while the
 * detail is open, so it lasts as long as the detail does, and ends soon after it closes.
 */
export const WATCH_IDLE_MS = 10_000;
/** Network-supplied texts (reasons, errors) are cut to this length in a transition record. */
const DETAIL_MAX_CHARS = 300;

function detailOf(event: Record<string, unknown>): string | undefined {
  const text = event['reason'] ?? event['error'];
  return typeof text === 'string' && text !== '' ? text.slice(0, DETAIL_MAX_CHARS) : undefined;
}

export class ActorWatch {
  readonly transitions = new Ring<TransitionRecord>(TRANSITIONS_PER_ACTOR);
  /** Set when the actor ends (its row then shows the end). */
  endedAt: number | null = null;
  private state: string;
  private readonly subscription: Subscription;

  constructor(
    readonly entry: LiveActor,
    public lastAsked: number,
    private readonly now: () => number,
  ) {
    // The state it is in when first asked for: the first transition recorded says where it came from.
    this.state = stateKey(entry.actor.getSnapshot().value as never);
    this.subscription = entry.actor.system.inspect((event) => this.onInspection(event));
  }

  private onInspection(event: InspectionEvent): void {
    if (event.type !== '@xstate.snapshot' || event.actorRef !== this.entry.actor) return;
    const value = (event.snapshot as { value?: unknown }).value;
    if (value === undefined) return;
    const to = stateKey(value as never);
    if (to === this.state) return;
    const detail = detailOf(event.event);
    this.transitions.push({
      time: this.now(),
      from: this.state,
      to,
      event: event.event.type,
      ...(detail !== undefined ? { detail } : {}),
    });
    this.state = to;
  }

  stop(): void {
    this.subscription.unsubscribe();
  }
}

/** The watches of one process: found by actor id, bounded, ended when idle. */
export class ActorWatches {
  private readonly watches = new Map<string, ActorWatch>();

  constructor(private readonly now: () => number) {}

  get(id: string): ActorWatch | undefined {
    return this.watches.get(id);
  }

  /** Watches a live actor (or keeps watching it); undefined when MAX_WATCHED are already watched. */
  watch(entry: LiveActor): ActorWatch | undefined {
    const id = entry.actor.sessionId;
    const now = this.now();
    let watch = this.watches.get(id);
    if (watch) {
      watch.lastAsked = now;
      return watch;
    }
    this.prune(now);
    if (this.watches.size >= MAX_WATCHED) return undefined;
    watch = new ActorWatch(entry, now, this.now);
    this.watches.set(id, watch);
    return watch;
  }

  /** Ends the watches no one asked for in WATCH_IDLE_MS. */
  prune(now = this.now()): void {
    for (const [id, watch] of this.watches) {
      if (now - watch.lastAsked < WATCH_IDLE_MS) continue;
      watch.stop();
      this.watches.delete(id);
    }
  }

  clear(): void {
    for (const watch of this.watches.values()) watch.stop();
    this.watches.clear();
  }

  get size(): number {
    return this.watches.size;
  }
}
