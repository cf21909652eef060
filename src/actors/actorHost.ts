/**
 * Creates every actor of a process, so that an inspector can see all of them and the process always
 * knows how many are alive per kind. Actors are never spawned children: in XState 5.x a parent with
 * thousands of spawned children copies its children map on every spawn and degrades quadratically, so
 * owners keep their own Maps. An actor only joins the system of a shared root (ACTORS_PER_SYSTEM), which
 * lists no children and is never told anything but their ends.
 */
import { ioFairClock } from './ioFairClock';
import {
  createActor,
  fromCallback,
  type AnyActorLogic,
  type AnyActorRef,
  type Actor,
  type InspectionEvent,
} from 'xstate';
import { ConnectionRuntime } from './connectionRuntime';
import type { ConnectionContext, ConnectionEvent } from '../machines/connection.machine';
import * as machines from './machines';

/**
 * Actors started without an inspection hook share an XState system, this many to one. A root actor builds
 * a system of its own (maps, a scheduler, about twenty closures): 8 us of CPU and over 1 KiB of heap per
 * actor, twice per dial on each side. Sharing is bounded because XState stops an actor by scanning every
 * scheduled event of its system (`cancelAll`): with one system for all, stopping an actor would cost as
 * much as the dials pending with a timeout, and a burst of them would turn quadratic. The bound also
 * limits what a watch costs: the inspector watches one actor through its system's inspection hook
 * (src/inspector/actorWatch.ts), so while it lasts the actor's system-mates build inspection events too.
 */
export const ACTORS_PER_SYSTEM = 32;

/** The root of one shared system: its children's done and error events reach it and are dropped. */
const systemRoot = fromCallback(() => {});

/**
 * Stops an actor whether it roots its own system or shares one: XState's `stop()` refuses an actor with a
 * parent, and stops one through `_stop()` (as its own `stopChild` does), which ends it the same way.
 */
function stopActor(actor: HostedActor): void {
  if (actor instanceof ConnectionRuntime) actor.stop();
  else if (actor._parent) (actor as unknown as { _stop(): void })._stop();
  else actor.stop();
}

/** What an actor is: a server's agent tunnel and its connections, an agent's server links and theirs. */
export type ActorKind = 'agentTunnel' | 'connection' | 'serverLink' | 'syncLoop' | 'endpointConnection';

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

/**
 * What an actor's owner tells an inspector about it. The owner is the describer itself, so that an
 * actor carries no closure for it (one per connection would be memory for as long as it is open).
 */
export interface ActorDescriber {
  actorFacts(): ActorFacts;
}

/**
 * An actor as the host and an inspector use it: an XState actor, or a connection run by ConnectionRuntime,
 * which has the same id, snapshot value and inspection hook.
 */
export type HostedActor = Actor<AnyActorLogic> | ConnectionRuntime;

/** What a dial's owner holds of its connection actor, whichever runs it. */
export interface ConnectionActor {
  send(event: ConnectionEvent): void;
  getSnapshot(): { readonly context: ConnectionContext };
}

/** One live actor as an inspector lists it. */
export interface LiveActor {
  readonly kind: ActorKind;
  readonly actor: HostedActor;
  readonly startedAt: number;
  /** What its owner says about it, if it has a describer. */
  describe(): ActorFacts | undefined;
}

/** Told once an actor it started reaches a final state, after the host has forgotten the actor. */
export interface ActorOwner {
  actorDone(actor: HostedActor): void;
}

/**
 * A live actor's entry, which is also the host's one observer of it: methods rather than closures, since
 * every connection carries one for as long as it lives.
 */
class Member implements LiveActor {
  constructor(
    readonly kind: ActorKind,
    readonly actor: HostedActor,
    readonly startedAt: number,
    private readonly describer: ActorDescriber | undefined,
    private readonly members: Map<HostedActor, LiveActor>,
    private readonly ended: (entry: LiveActor) => void,
    private readonly owner: ActorOwner | undefined,
  ) {}

  describe(): ActorFacts | undefined {
    return this.describer?.actorFacts();
  }

  complete(): void {
    this.forget();
    this.owner?.actorDone(this.actor);
  }

  error(): void {
    this.forget();
  }

  private forget(): void {
    if (this.members.delete(this.actor)) this.ended(this);
  }
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
  private readonly live = new Map<ActorKind, Map<HostedActor, LiveActor>>();
  private readonly endObservers = new Set<EndObserver>();
  private readonly inspect = (event: InspectionEvent): void => {
    for (const observer of this.observers) observer(event);
  };
  /** The shared system actors join now (see ACTORS_PER_SYSTEM), and how many have joined it. */
  private systemRoot: AnyActorRef | null = null;
  private systemMembers = 0;

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
    return (this.live.get(kind) ?? new Map<HostedActor, LiveActor>()).values();
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
      describer?: ActorDescriber;
      /** Told when the actor is done: rides on the host's one observer instead of subscribing a second. */
      owner?: ActorOwner;
    },
  ): Actor<TLogic> {
    // An inspected actor keeps a system of its own, so that only actors started while someone observes
    // carry the hook.
    const inspected = this.observers.size > 0;
    const actor: Actor<TLogic> = createActor(logic, {
      input: options.input,
      clock: ioFairClock,
      ...(inspected ? { inspect: this.inspect } : { parent: this.sharedSystem() }),
      ...(options.id !== undefined ? { id: options.id } : {}),
    } as never);
    const entry = this.join(kind, actor as Actor<AnyActorLogic>, options.describer, options.owner);
    actor.subscribe(entry);
    options.bind?.(actor);
    actor.start();
    return actor;
  }

  /**
   * Starts a dial's connection actor (src/machines/connection.machine.ts) with `port` as its effects: on
   * ConnectionRuntime, or on XState while someone observes the whole host (every inspection event).
   */
  startConnection(
    kind: 'connection' | 'endpointConnection',
    port: machines.ConnectionPort & ActorDescriber & ActorOwner,
    timeoutMs: number,
  ): ConnectionActor {
    if (this.observers.size > 0) {
      return this.start(kind, machines.connection.machine, {
        bind: (actor) => machines.connection.bind(actor, port),
        input: { timeoutMs },
        describer: port,
        owner: port,
      });
    }
    const runtime = new ConnectionRuntime(port, timeoutMs, ioFairClock);
    return runtime.start(this.join(kind, runtime, port, port));
  }

  private join(
    kind: ActorKind,
    actor: HostedActor,
    describer: ActorDescriber | undefined,
    owner: ActorOwner | undefined,
  ): Member {
    let members = this.live.get(kind);
    if (!members) {
      members = new Map();
      this.live.set(kind, members);
    }
    const entry = new Member(kind, actor, Date.now(), describer, members, this.endedEntry, owner);
    members.set(actor, entry);
    this.counter?.actorStarted(kind);
    return entry;
  }

  /** The root whose system the next uninspected actor joins; a full one is left to its members. */
  private sharedSystem(): AnyActorRef {
    if (this.systemRoot === null || this.systemMembers >= ACTORS_PER_SYSTEM) {
      // The system's scheduler runs every delay of its members on the root's clock.
      this.systemRoot = createActor(systemRoot, { clock: ioFairClock }).start();
      this.systemMembers = 0;
    }
    this.systemMembers++;
    return this.systemRoot;
  }

  /** Actors alive right now, per kind (a leak shows here). */
  counts(): Record<ActorKind, number> {
    const out = {
      agentTunnel: 0,
      connection: 0,
      serverLink: 0,
      syncLoop: 0,
      endpointConnection: 0,
    };
    for (const [kind, set] of this.live) out[kind] = set.size;
    return out;
  }

  private readonly endedEntry = (entry: LiveActor): void => this.ended(entry);

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
        stopActor(entry.actor);
        if (set.delete(entry.actor)) this.ended(entry);
      }
    }
  }
}
