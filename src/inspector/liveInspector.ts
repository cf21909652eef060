/**
 * The live inspector of one process (server or agent): per-state counts of every machine, the actor
 * table, one actor's detail and the lifecycle event feed, all read from the process's ActorHost.
 *
 * Cost: with no one looking it does nothing per inspection event and nothing per actor beyond what the
 * host already does (counting live actors per kind). Transitions and ended actors are recorded only while
 * someone looks: a page is open (a viewer of the live stream), or the JSON API was used in the last
 * API_ACTIVITY_MS. Counts are computed when a frame or a request asks for them, not kept per event.
 */
import type { ActorHost, ActorKind } from '../actors/actorHost';
import { ActorRecords, KIND_MACHINE, rowOf, type ActorRow, type TransitionRecord } from './actorRecords';
import { queryActors, type ActorPage, type ActorQuery } from './actorQuery';
import type { EventFeed } from './eventFeed';
import { allMachineGraphs, MACHINE_NAMES, type MachineGraph, type MachineName } from './machineGraph';
import { activePaths } from './stateValue';

/**
 * A tool that polls the JSON API counts as looking for this long after each request, so the transitions
 * of the actors it asks about are being recorded; short enough that a forgotten poller stops costing soon.
 */
export const API_ACTIVITY_MS = 30_000;
/** Owned actors listed in one actor's detail; a tunnel with more says how many there are. */
export const MAX_OWNED_LISTED = 200;

const PROCESS_MACHINES: Readonly<Record<ProcessIdentity['kind'], readonly MachineName[]>> = {
  server: ['agentTunnel', 'dial', 'connection'],
  agent: ['serverLink', 'syncLoop', 'dial', 'connection'],
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
}

export interface Summary {
  readonly time: number;
  readonly process: ProcessIdentity;
  readonly recording: boolean;
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
  private readonly records: ActorRecords;
  private viewers = 0;
  private lastApiUse = Number.NEGATIVE_INFINITY;
  private stopRecording: (() => void) | null = null;

  constructor(
    private readonly host: ActorHost,
    readonly identity: ProcessIdentity,
    readonly feed: EventFeed,
    private readonly now: () => number = Date.now,
  ) {
    this.records = new ActorRecords(now);
  }

  /** Whether someone is looking (a viewer is connected or the API was used recently). */
  get wanted(): boolean {
    return this.viewers > 0 || this.now() - this.lastApiUse < API_ACTIVITY_MS;
  }

  get recording(): boolean {
    return this.stopRecording !== null;
  }

  /** A JSON API request: starts recording for API_ACTIVITY_MS. */
  touch(): void {
    this.lastApiUse = this.now();
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
    const records = this.records;
    const stopInspect = this.host.observe((event) => {
      if (this.wanted) records.onInspection(event);
      else this.stop();
    });
    const stopEnds = this.host.observeEnds((entry, endedAt) => {
      if (this.wanted) records.onEnded(entry, endedAt);
      else this.stop();
    });
    this.stopRecording = () => {
      stopInspect();
      stopEnds();
    };
  }

  private stop(): void {
    this.stopRecording?.();
    this.stopRecording = null;
    // What was recorded is stale once no one looked for a while; the next viewer starts afresh.
    this.records.clear();
  }

  /** The charts of the machines this process runs (a server has no server links, an agent no tunnels). */
  graphs(): readonly MachineGraph[] {
    const mine = PROCESS_MACHINES[this.identity.kind];
    return allMachineGraphs().filter((g) => mine.includes(g.machine));
  }

  summary(): Summary {
    const states = new Map<MachineName, Map<string, number>>(MACHINE_NAMES.map((m) => [m, new Map()]));
    const live = new Map<MachineName, number>();
    for (const entry of this.host.liveActors()) {
      const machine = KIND_MACHINE[entry.kind];
      live.set(machine, (live.get(machine) ?? 0) + 1);
      const counts = states.get(machine)!;
      const value = entry.actor.getSnapshot().value as unknown;
      // Most actors are in an atomic top-level state: count it without building paths.
      const paths = typeof value === 'string' ? [value] : activePaths(value as never);
      for (const path of paths) counts.set(path, (counts.get(path) ?? 0) + 1);
    }
    return {
      time: this.now(),
      process: this.identity,
      recording: this.recording,
      kinds: this.host.counts(),
      machines: MACHINE_NAMES.map((machine) => ({
        machine,
        live: live.get(machine) ?? 0,
        states: Object.fromEntries(states.get(machine)!),
      })),
    };
  }

  private *allRows(includeEnded: boolean): Iterable<ActorRow> {
    for (const entry of this.host.liveActors()) yield rowOf(entry);
    if (includeEnded) for (const ended of this.records.ended.toArray()) yield ended.row;
  }

  actors(query: ActorQuery): ActorPage {
    return queryActors(this.allRows(query.ended), query, this.now());
  }

  actor(id: string): ActorDetail | undefined {
    const live = this.host.find(id);
    const ended = live ? undefined : this.records.findEnded(id);
    const row = live ? rowOf(live) : ended?.row;
    if (!row) return undefined;
    const transitions = live ? this.records.transitionsOf(live.actor) : (ended?.transitions.toArray() ?? []);
    let owner: ActorRow | null = null;
    const owns: ActorRow[] = [];
    let ownsTotal = 0;
    for (const other of this.allRows(true)) {
      if (row.owner !== null && other.id === row.owner) owner = other;
      if (other.owner === id) {
        ownsTotal++;
        if (owns.length < MAX_OWNED_LISTED) owns.push(other);
      }
    }
    return { actor: row, transitions, owner, owns, ownsTotal };
  }
}
