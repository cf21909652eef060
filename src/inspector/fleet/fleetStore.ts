/**
 * The events the fleet inspector has read, in log order, and the fleet folded from them: kept up to date
 * event by event for the live view, and re-folded from the start for a moment in the past (replay is a
 * fold of a prefix; at about a million events a second for this fold, a replay of 100k events is ~0.1 s).
 */
import type { LifecycleEvent } from '../../events';
import { applyFleetEvent, emptyFleet, foldFleet, type FleetState } from './fleetProjection';

/**
 * Events kept in memory for replay (about 500 bytes each: ~250 MiB at the cap). Past it the oldest are
 * dropped and replay starts later; the page says so.
 */
export const MAX_FLEET_EVENTS = 500_000;

export class FleetStore {
  private events: LifecycleEvent[] = [];
  private live: FleetState = emptyFleet();
  /** Events dropped from the front because of MAX_FLEET_EVENTS. */
  private dropped = 0;

  add(event: LifecycleEvent): void {
    this.events.push(event);
    applyFleetEvent(this.live, event);
    if (this.events.length > MAX_FLEET_EVENTS) {
      const cut = Math.ceil(MAX_FLEET_EVENTS / 10);
      this.events = this.events.slice(cut);
      this.dropped += cut;
    }
  }

  /** Forgets everything (before a re-read of the whole log). */
  reset(): void {
    this.events = [];
    this.live = emptyFleet();
    this.dropped = 0;
  }

  get length(): number {
    return this.events.length;
  }

  get droppedEvents(): number {
    return this.dropped;
  }

  event(index: number): LifecycleEvent | undefined {
    return this.events[index];
  }

  /** The fleet after the first `count` events (all of them when `count` is at least `length`). */
  stateAfter(count: number): FleetState {
    if (count >= this.events.length && this.dropped === 0) return this.live;
    return foldFleet(this.events.slice(0, Math.max(0, count)));
  }

  /** How many events happened at or before `time` (milliseconds since the epoch). */
  countUntil(time: number): number {
    let n = 0;
    for (const event of this.events) {
      if (Date.parse(event.time) > time) break;
      n++;
    }
    return n;
  }

  /** The newest `max` events among the first `count` that `keep` accepts, newest last. */
  recent(count: number, keep: (event: LifecycleEvent) => boolean, max: number): LifecycleEvent[] {
    const out: LifecycleEvent[] = [];
    for (let i = Math.min(count, this.events.length) - 1; i >= 0 && out.length < max; i--) {
      const event = this.events[i]!;
      if (keep(event)) out.push(event);
    }
    return out.reverse();
  }
}
