/**
 * The live inspector of one process (server or agent): per-state counts of every machine, the actor
 * table, one actor's detail and the lifecycle event feed, all read from the process's ActorHost.
 *
 * Cost: with no one looking it does nothing per transition and nothing per actor beyond what the host
 * already does (counting live actors per kind); no actor carries an inspection hook. While someone looks
 * (a page is open, or the JSON API was used in the last API_ACTIVITY_MS), it counts each actor that ends
 * per final state and keeps the last few (`endedActors.ts`), and records transitions only for the actors
 * a viewer has open (`actorWatch.ts`). Per-state counts of live actors are read from the actors when a
 * frame is built (once per tick for all viewers), so they cost per tick, not per dial.
 */
import type { ActorHost, ActorKind, LiveActor } from '../actors/actorHost';
import { KIND_MACHINE, rowOf, type ActorRow, type TransitionRecord } from './actorRecords';
import { queryActors, type ActorCandidate, type ActorPage, type ActorQuery } from './actorQuery';
import { ActorWatches } from './actorWatch';
import { EndedActors } from './endedActors';
import type { EventFeed } from './eventFeed';
import { allMachineGraphs, MACHINE_NAMES, type MachineGraph, type MachineName } from './machineGraph';
import { activePathsOfKey, stateKey } from './stateValue';

/**
 * A tool that polls the JSON API counts as looking for this long after each request, so the transitions
 * of the actors it asks about are being recorded; short enough that a forgotten poller stops costing soon.
 */
export const API_ACTIVITY_MS = 30_000;
/** Owned actors listed in one actor's detail; a tunnel with more says how many there are. */
export const MAX_OWNED_LISTED = 200;

/** The kinds that own other actors (a tunnel its connections, a link its endpoint connections). */
const OWNER_KINDS: readonly ActorKind[] = ['agentTunnel', 'serverLink'];
const OWNED_KINDS: readonly ActorKind[] = ['connection', 'endpointConnection'];

/**
 * Whether a query's order is the order the host keeps actors in (oldest first: by age from the oldest, or
 * by id, which XState hands out in start order) and it filters on nothing that needs a look at each actor.
 */
function pagesInStartOrder(query: ActorQuery): boolean {
  if (query.state || query.agent || query.destination || query.q) return false;
  return (query.sort === 'age' && query.desc) || (query.sort === 'id' && !query.desc);
}

const PROCESS_MACHINES: Readonly<Record<ProcessIdentity['kind'], readonly MachineName[]>> = {
  server: ['agentTunnel', 'connection'],
  agent: ['serverLink', 'syncLoop', 'connection'],
};

export interface ProcessIdentity {
  readonly kind: 'server' | 'agent';
  readonly id: string;
}

export interface MachineCounts {
  readonly machine: MachineName;
  /** Live actors running this machine. */
  readonly live: number;
  /** State path -> live actors in it (a compound state counts its children's). */
  readonly states: Readonly<Record<string, number>>;
  /** Final state -> actors that ended in it since `Summary.endedSince` (counted while someone looks). */
  readonly ended: Readonly<Record<string, number>>;
}

export interface Summary {
  readonly time: number;
  readonly process: ProcessIdentity;
  readonly recording: boolean;
  /** When the current recording began (the `ended` counts start there); null when not recording. */
  readonly endedSince: number | null;
  readonly kinds: Readonly<Record<ActorKind, number>>;
  readonly machines: readonly MachineCounts[];
}

export interface ActorDetail {
  readonly actor: ActorRow;
  readonly transitions: readonly TransitionRecord[];
  readonly owner: ActorRow | null;
  readonly owns: readonly ActorRow[];
  readonly ownsTotal: number;
}

export class LiveInspector {
  private readonly watches: ActorWatches;
  private readonly ended = new EndedActors();
  private viewers = 0;
  /** Until when a JSON API request counts as someone looking; 0 once that has passed (no clock read). */
  private apiUntil = 0;
  private stopRecording: (() => void) | null = null;
  private recordingSince: number | null = null;

  constructor(
    private readonly host: ActorHost,
    readonly identity: ProcessIdentity,
    readonly feed: EventFeed,
    private readonly now: () => number = Date.now,
  ) {
    this.watches = new ActorWatches(now);
  }

  /** Whether someone is looking (a viewer is connected or the API was used recently). */
  get wanted(): boolean {
    if (this.viewers > 0) return true;
    if (this.apiUntil === 0) return false;
    if (this.now() < this.apiUntil) return true;
    this.apiUntil = 0;
    return false;
  }

  get recording(): boolean {
    return this.stopRecording !== null;
  }

  /** A JSON API request: starts recording for API_ACTIVITY_MS. */
  touch(): void {
    this.apiUntil = this.now() + API_ACTIVITY_MS;
    this.startRecording();
  }

  /** A live viewer connected; returns the function to call when it leaves. */
  addViewer(): () => void {
    this.viewers++;
    this.startRecording();
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.viewers--;
    };
  }

  private startRecording(): void {
    if (this.stopRecording) return;
    this.recordingSince = this.now();
    this.stopRecording = this.host.observeEnds((entry, endedAt) => {
      if (!this.wanted) return this.stop();
      const watch = this.watches.get(entry.actor.sessionId);
      if (watch) watch.endedAt = endedAt;
      this.ended.add(entry, endedAt, watch);
    });
  }

  private stop(): void {
    this.stopRecording?.();
    this.stopRecording = null;
    this.recordingSince = null;
    // What was recorded is stale once no one looked for a while; the next viewer starts afresh.
    this.ended.clear();
    this.watches.clear();
  }

  /** The charts of the machines this process runs (a server has no server links, an agent no tunnels). */
  graphs(): readonly MachineGraph[] {
    const mine = PROCESS_MACHINES[this.identity.kind];
    return allMachineGraphs().filter((g) => mine.includes(g.machine));
  }

  summary(): Summary {
    // The tick is also when idle watches end and a quiet API stops the recording.
    if (!this.wanted) this.stop();
    else this.watches.prune();
    const states = new Map<MachineName, Map<string, number>>(MACHINE_NAMES.map((m) => [m, new Map()]));
    const live = new Map<MachineName, number>();
    for (const entry of this.host.liveActors()) {
      const machine = KIND_MACHINE[entry.kind];
      live.set(machine, (live.get(machine) ?? 0) + 1);
      const counts = states.get(machine)!;
      for (const path of activePathsOfKey(stateKey(entry.actor.getSnapshot().value as never))) {
        counts.set(path, (counts.get(path) ?? 0) + 1);
      }
    }
    return {
      time: this.now(),
      process: this.identity,
      recording: this.recording,
      endedSince: this.recordingSince,
      kinds: this.host.counts(),
      machines: MACHINE_NAMES.map((machine) => ({
        machine,
        live: live.get(machine) ?? 0,
        states: Object.fromEntries(states.get(machine)!),
        ended: this.ended.countsOf(machine),
      })),
    };
  }

  /** The kinds a query can match (a kind or machine filter skips the others). */
  private kindsOf(query: ActorQuery): ActorKind[] {
    return (Object.entries(KIND_MACHINE) as [ActorKind, MachineName][])
      .filter(
        ([kind, machine]) =>
          (!query.kind || query.kind === kind) && (!query.machine || query.machine === machine),
      )
      .map(([kind]) => kind);
  }

  /** Live actors of the kinds a query can match, at most `perKind` of each (oldest first), then ended ones. */
  private *candidates(query: ActorQuery, perKind = Number.POSITIVE_INFINITY): Iterable<ActorCandidate> {
    for (const kind of this.kindsOf(query)) {
      let taken = 0;
      for (const entry of this.host.liveOfKind(kind)) {
        if (taken++ >= perKind) break;
        yield { entry, endedAt: null };
      }
    }
    if (query.ended) for (const ended of this.ended.sample.toArray()) yield ended;
  }

  actors(query: ActorQuery): ActorPage {
    if (!pagesInStartOrder(query)) return queryActors(this.candidates(query), query, this.now());
    // The page's usual request: the host keeps each kind's actors oldest first, so the first
    // offset + limit of each kind (and the ended sample) hold the page, and the total is a sum of sizes.
    const page = queryActors(this.candidates(query, query.offset + query.limit), query, this.now());
    const kinds = this.kindsOf(query);
    const counts = this.host.counts();
    let total = kinds.reduce((n, kind) => n + counts[kind], 0);
    if (query.ended) {
      total += this.ended.sample.toArray().filter((e) => kinds.includes(e.entry.kind)).length;
    }
    return { ...page, total };
  }

  /**
   * One actor. A live actor asked for is watched from then on (its transitions recorded) for as long as
   * someone keeps asking; an ended one is found among the watched and the sample of recently ended.
   */
  actor(id: string): ActorDetail | undefined {
    let watch = this.watches.get(id);
    if (watch) watch.lastAsked = this.now();
    let entry: LiveActor | undefined = watch?.entry;
    let endedAt = watch?.endedAt ?? null;
    let transitions: readonly TransitionRecord[] = watch?.transitions.toArray() ?? [];
    if (!entry) {
      const ended = this.ended.find(id);
      if (ended) {
        ({ entry, endedAt } = ended);
        transitions = ended.watch?.transitions.toArray() ?? [];
      } else {
        entry = this.host.find(id);
        if (!entry) return undefined;
        // Only while recording: a watch outliving the recording would never be pruned.
        if (this.recording) watch = this.watches.watch(entry);
      }
    }
    const row = rowOf(entry, endedAt);
    return { actor: row, transitions, owner: this.ownerOf(row), ...this.ownedBy(entry) };
  }

  /** An actor's owner (a tunnel or a link: a few per process, found without a pass over every actor). */
  private ownerOf(row: ActorRow): ActorRow | null {
    if (row.owner === null) return null;
    for (const kind of OWNER_KINDS) {
      for (const entry of this.host.liveOfKind(kind)) {
        if (entry.actor.sessionId === row.owner) return rowOf(entry);
      }
    }
    return null;
  }

  /** What an owner owns: a pass over the kinds it can own, only for an actor of an owning kind. */
  private ownedBy(owner: LiveActor): { owns: ActorRow[]; ownsTotal: number } {
    const owns: ActorRow[] = [];
    let ownsTotal = 0;
    if (!OWNER_KINDS.includes(owner.kind)) return { owns, ownsTotal };
    const id = owner.actor.sessionId;
    const consider = (entry: LiveActor, endedAt: number | null): void => {
      const facts = entry.describe();
      if (facts?.owner !== id) return;
      ownsTotal++;
      if (owns.length < MAX_OWNED_LISTED) owns.push(rowOf(entry, endedAt, facts));
    };
    for (const kind of OWNED_KINDS) for (const entry of this.host.liveOfKind(kind)) consider(entry, null);
    for (const ended of this.ended.sample.toArray()) consider(ended.entry, ended.endedAt);
    return { owns, ownsTotal };
  }
}
