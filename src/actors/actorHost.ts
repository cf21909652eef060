/**
 * Creates every actor of a process, so that an inspector can see all of them and the process always
 * knows how many are alive per kind. Actors are standalone (not spawned children): in XState 5.x a parent
 * with thousands of spawned children copies its children map on every spawn, so a parent with thousands of spawned children degrades quadratically, and owners keep their own Maps.
 */
import { ioFairClock } from './ioFairClock';
import { createActor, type AnyActorLogic, type Actor, type InspectionEvent } from 'xstate';

export type ActorKind =
  'agentTunnel' | 'dial' | 'connection' | 'serverLink' | 'syncLoop' | 'endpointDial' | 'endpointConnection';

export type InspectObserver = (event: InspectionEvent) => void;

/**
 * What an inspector shows about an actor beyond its machine snapshot. Asked only while someone looks, so
 * values that change (a link's server id, bytes moved) are read when shown and cost nothing otherwise.
 */
export interface ActorFacts {
  /** The agent this actor serves or belongs to (server side), or the agent itself (agent side). */
  readonly agent?: string;
  /** The server at the other end (agent side). */
  readonly server?: string;
  readonly destination?: string;
  /** The id of the actor that owns this one (a tunnel owns its dials and connections). */
  readonly owner?: string;
  /** Bytes sent toward the far side and received from it. */
  readonly bytesOut?: number;
  readonly bytesIn?: number;
}

/** One live actor as an inspector lists it. */
export interface LiveActor {
  readonly kind: ActorKind;
  readonly actor: Actor<AnyActorLogic>;
  readonly startedAt: number;
  readonly describe: (() => ActorFacts) | undefined;
}

/** Told when an actor ends, with its last snapshot still readable (the inspector's recently-ended list). */
export type EndObserver = (ended: LiveActor, endedAt: number) => void;

/** Told when actors start and end (the live-actor gauge). */
export interface ActorCounter {
  actorStarted(kind: string): void;
  actorStopped(kind: string): void;
}

export class ActorHost {
  constructor(private readonly counter?: ActorCounter) {}

  private readonly observers = new Set<InspectObserver>();
  private readonly live = new Map<ActorKind, Map<Actor<AnyActorLogic>, LiveActor>>();
  private readonly endObservers = new Set<EndObserver>();
  private readonly inspect = (event: InspectionEvent): void => {
    for (const observer of this.observers) observer(event);
  };

  /**
   * Registers an observer of every inspection event of the actors started from now on (a test, a
   * debugger); returns the function that removes it. Only actors started while one is registered carry
   * the hook: XState builds and copies an inspection event for every event, microstep, action and
   * snapshot of an actor that has one, even when no one is listening.
   */
  observe(observer: InspectObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** Registers a listener for actors that end; returns the function that removes it. */
  observeEnds(observer: EndObserver): () => void {
    this.endObservers.add(observer);
    return () => this.endObservers.delete(observer);
  }

  /** Every live actor (the inspector's table); iterated only when someone asks. */
  *liveActors(): IterableIterator<LiveActor> {
    for (const members of this.live.values()) yield* members.values();
  }

  /** The live actors of one kind, oldest first. */
  liveOfKind(kind: ActorKind): IterableIterator<LiveActor> {
    return (this.live.get(kind) ?? new Map<Actor<AnyActorLogic>, LiveActor>()).values();
  }

  /** The live actor with this id (XState's session id), if any. */
  find(id: string): LiveActor | undefined {
    for (const entry of this.liveActors()) if (entry.actor.sessionId === id) return entry;
    return undefined;
  }

  start<TLogic extends AnyActorLogic>(
    kind: ActorKind,
    logic: TLogic,
    options: {
      input?: unknown;
      id?: string;
      bind?: (actor: Actor<TLogic>) => void;
      describe?: () => ActorFacts;
    },
  ): Actor<TLogic> {
    const actor: Actor<TLogic> = createActor(logic, {
      input: options.input,
      clock: ioFairClock,
      ...(this.observers.size > 0 ? { inspect: this.inspect } : {}),
      ...(options.id !== undefined ? { id: options.id } : {}),
    } as never);
    let members = this.live.get(kind);
    if (!members) {
      members = new Map();
      this.live.set(kind, members);
    }
    const entry: LiveActor = {
      kind,
      actor: actor as Actor<AnyActorLogic>,
      startedAt: Date.now(),
      describe: options.describe,
    };
    const set = members;
    set.set(entry.actor, entry);
    this.counter?.actorStarted(kind);
    const forget = (): void => {
      if (set.delete(entry.actor)) this.ended(entry);
    };
    actor.subscribe({ complete: forget, error: forget });
    options.bind?.(actor);
    actor.start();
    return actor;
  }

  /** Actors alive right now, per kind (a leak shows here). */
  counts(): Record<ActorKind, number> {
    const out = {
      agentTunnel: 0,
      dial: 0,
      connection: 0,
      serverLink: 0,
      syncLoop: 0,
      endpointDial: 0,
      endpointConnection: 0,
    };
    for (const [kind, set] of this.live) out[kind] = set.size;
    return out;
  }

  private ended(entry: LiveActor): void {
    this.counter?.actorStopped(entry.kind);
    if (this.endObservers.size === 0) return;
    const now = Date.now();
    for (const observer of this.endObservers) observer(entry, now);
  }

  /** Stops everything still alive (shutdown). Safe to call more than once. */
  stopAll(): void {
    for (const set of this.live.values()) {
      for (const entry of [...set.values()]) {
        entry.actor.stop();
        if (set.delete(entry.actor)) this.ended(entry);
      }
    }
  }
}
