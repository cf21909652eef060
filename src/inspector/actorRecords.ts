/**
 * What the inspector remembers about actors while someone is looking: each actor's recent transitions
 * (a small ring per actor, kept beside the actor and gone with it) and the actors that ended recently
 * (so a page can show a connection reaching `closed` after its actor is gone). Nothing is recorded while
 * no one looks: recording starts with the first viewer and stops, at the next inspection event, after the
 * last one leaves.
 */
import type { ActorRefLike, InspectionEvent } from 'xstate';
import type { ActorKind, LiveActor } from '../actors/actorHost';
import type { MachineName } from './machineGraph';
import { Ring } from './ring';
import { stateText } from './stateValue';

/** Transitions kept per actor: a connection's whole life is 3-5; a long-lived link's last few hours of churn. */
export const TRANSITIONS_PER_ACTOR = 32;
/** Ended actors kept for the table and the detail view; a few seconds of 1,000 dials/s, bounded. */
export const RECENTLY_ENDED_CAPACITY = 1000;
/** Network-supplied texts (reasons, errors) are cut to this length in a transition record. */
const DETAIL_MAX_CHARS = 300;

export const KIND_MACHINE: Readonly<Record<ActorKind, MachineName>> = {
  agentTunnel: 'agentTunnel',
  dial: 'dial',
  endpointDial: 'dial',
  connection: 'connection',
  endpointConnection: 'connection',
  serverLink: 'serverLink',
  syncLoop: 'syncLoop',
};

export interface TransitionRecord {
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly from: string | null;
  readonly to: string;
  /** The event's type (`DIAL_SUCCEEDED`, `xstate.init`, `xstate.after.dialTimeout...`). */
  readonly event: string;
  /** The event's reason or error text when it has one (from the network: shown as text only). */
  readonly detail?: string;
}

export interface ActorRow {
  readonly id: string;
  readonly kind: ActorKind;
  readonly machine: MachineName;
  readonly state: string;
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly agent: string | null;
  readonly server: string | null;
  readonly destination: string | null;
  readonly owner: string | null;
  readonly bytesOut: number | null;
  readonly bytesIn: number | null;
}

export interface EndedActor {
  readonly row: ActorRow;
  /**
   * The actor's own ring, not a copy: XState tells observers an actor is done before it reports the
   * final snapshot, so the last transition lands in the ring after the actor has ended.
   */
  readonly transitions: Ring<TransitionRecord>;
}

export function rowOf(entry: LiveActor, endedAt: number | null = null): ActorRow {
  const facts = entry.describe?.() ?? {};
  return {
    id: entry.actor.sessionId,
    kind: entry.kind,
    machine: KIND_MACHINE[entry.kind],
    state: stateText(entry.actor.getSnapshot().value as never),
    startedAt: entry.startedAt,
    endedAt,
    agent: facts.agent ?? null,
    server: facts.server ?? null,
    destination: facts.destination ?? null,
    owner: facts.owner ?? null,
    bytesOut: facts.bytesOut ?? null,
    bytesIn: facts.bytesIn ?? null,
  };
}

function detailOf(event: Record<string, unknown>): string | undefined {
  const text = event['reason'] ?? event['error'];
  return typeof text === 'string' && text !== '' ? text.slice(0, DETAIL_MAX_CHARS) : undefined;
}

export class ActorRecords {
  private readonly transitions = new WeakMap<ActorRefLike, Ring<TransitionRecord>>();
  readonly ended = new Ring<EndedActor>(RECENTLY_ENDED_CAPACITY);

  constructor(private readonly now: () => number = Date.now) {}

  /** Fed every inspection event while recording; keeps only snapshots whose state changed. */
  readonly onInspection = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.snapshot') return;
    const snapshot = event.snapshot as { value?: unknown };
    if (snapshot.value === undefined) return;
    const to = stateText(snapshot.value as never);
    const ring = this.ringOf(event.actorRef);
    const last = ring.last();
    if (last?.to === to) return;
    const detail = detailOf(event.event);
    ring.push({
      time: this.now(),
      from: last?.to ?? null,
      to,
      event: event.event.type,
      ...(detail !== undefined ? { detail } : {}),
    });
  };

  readonly onEnded = (entry: LiveActor, endedAt: number): void => {
    this.ended.push({ row: rowOf(entry, endedAt), transitions: this.ringOf(entry.actor) });
  };

  private ringOf(actor: ActorRefLike): Ring<TransitionRecord> {
    let ring = this.transitions.get(actor);
    if (!ring) {
      ring = new Ring(TRANSITIONS_PER_ACTOR);
      this.transitions.set(actor, ring);
    }
    return ring;
  }

  transitionsOf(actor: ActorRefLike): TransitionRecord[] {
    return this.transitions.get(actor)?.toArray() ?? [];
  }

  findEnded(id: string): EndedActor | undefined {
    return this.ended.toArray().find((e) => e.row.id === id);
  }

  clear(): void {
    this.ended.clear();
  }
}
