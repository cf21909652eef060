/**
 * The actors that ended while someone was looking: counted per machine and final state (a Map update
 * each), and the last few kept as a sample for the table and the detail view. An ended actor's row is
 * read from it when asked, not when it ends: its snapshot and its facts no longer change.
 */
import type { LiveActor } from '../actors/actorHost';
import { KIND_MACHINE } from './actorRecords';
import type { ActorWatch } from './actorWatch';
import type { MachineName } from './machineGraph';
import { Ring } from '../ring';
import { stateKey } from './stateValue';

/**
 * Ended actors kept whole (a screenful of the table): at 1,000 dials/s that is the last tenth of a second,
 * which is all a page refreshed once a second can show anyway; the counts say how many ended in all.
 */
export const RECENTLY_ENDED_SAMPLE = 100;

export interface EndedActor {
  readonly entry: LiveActor;
  readonly endedAt: number;
  /** Its transitions, when a viewer had it open. */
  readonly watch: ActorWatch | undefined;
}

export class EndedActors {
  readonly sample = new Ring<EndedActor>(RECENTLY_ENDED_SAMPLE);
  private readonly counts = new Map<MachineName, Map<string, number>>();

  add(entry: LiveActor, endedAt: number, watch: ActorWatch | undefined): void {
    const machine = KIND_MACHINE[entry.kind];
    let states = this.counts.get(machine);
    if (states === undefined) {
      states = new Map();
      this.counts.set(machine, states);
    }
    const state = stateKey(entry.actor.getSnapshot().value as never);
    states.set(state, (states.get(state) ?? 0) + 1);
    this.sample.push({ entry, endedAt, watch });
  }

  /** Actors of `machine` that ended in each final state since counting began. */
  countsOf(machine: MachineName): Readonly<Record<string, number>> {
    return Object.fromEntries(this.counts.get(machine) ?? []);
  }

  find(id: string): EndedActor | undefined {
    for (const ended of this.sample.toArray()) if (ended.entry.actor.sessionId === id) return ended;
    return undefined;
  }

  clear(): void {
    this.sample.clear();
    this.counts.clear();
  }
}
