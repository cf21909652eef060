/**
 * What the inspector shows about one actor: its row in the table (read from the actor when asked) and the
 * record of one transition. What it remembers while someone looks lives beside: `actorWatch.ts` (the
 * transitions of the actors a viewer has open) and `endedActors.ts` (what ended, counted and sampled).
 */
import type { ActorFacts, ActorKind, LiveActor } from '../actors/actorHost';
import type { MachineName } from './machineGraph';
import { stateKey } from './stateValue';

export const KIND_MACHINE: Readonly<Record<ActorKind, MachineName>> = {
  agentTunnel: 'agentTunnel',
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

/** An actor's row; `facts` when the caller has already asked the actor to describe itself. */
export function rowOf(
  entry: LiveActor,
  endedAt: number | null = null,
  facts: ActorFacts = entry.describe() ?? {},
): ActorRow {
  return {
    id: entry.actor.sessionId,
    kind: entry.kind,
    machine: KIND_MACHINE[entry.kind],
    state: stateKey(entry.actor.getSnapshot().value as never),
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
