/**
 * Creates every actor of a process, so that one `inspect` hook sees all of them and the process always
 * knows how many are alive per kind. Actors are standalone (not spawned children): in XState 5.x a parent
 * with thousands of spawned children copies its children map on every spawn, so a parent with thousands of spawned children degrades quadratically, and owners keep their own Maps.
 */
import { createActor, type AnyActorLogic, type Actor, type InspectionEvent } from 'xstate';

export type ActorKind =
  'agentTunnel' | 'dial' | 'connection' | 'serverLink' | 'syncLoop' | 'endpointDial' | 'endpointConnection';

export type InspectObserver = (event: InspectionEvent) => void;

/** Told when actors start and end (the live-actor gauge). */
export interface ActorCounter {
  actorStarted(kind: string): void;
  actorStopped(kind: string): void;
}

export class ActorHost {
  constructor(private readonly counter?: ActorCounter) {}

  private readonly observers = new Set<InspectObserver>();
  private readonly live = new Map<ActorKind, Set<Actor<AnyActorLogic>>>();
  private readonly inspect = (event: InspectionEvent): void => {
    for (const observer of this.observers) observer(event);
  };

  /** Registers an inspector (the live inspector, a test); returns the function that removes it. */
  observe(observer: InspectObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  start<TLogic extends AnyActorLogic>(
    kind: ActorKind,
    logic: TLogic,
    options: { input?: unknown; id?: string; bind?: (actor: Actor<TLogic>) => void },
  ): Actor<TLogic> {
    const actor: Actor<TLogic> = createActor(logic, {
      input: options.input,
      inspect: this.inspect,
      ...(options.id !== undefined ? { id: options.id } : {}),
    } as never);
    let set = this.live.get(kind);
    if (!set) {
      set = new Set();
      this.live.set(kind, set);
    }
    const members = set;
    members.add(actor as Actor<AnyActorLogic>);
    this.counter?.actorStarted(kind);
    const forget = (): void => {
      if (members.delete(actor as Actor<AnyActorLogic>)) this.counter?.actorStopped(kind);
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

  /** Stops everything still alive (shutdown). Safe to call more than once. */
  stopAll(): void {
    for (const [kind, set] of this.live) {
      for (const actor of [...set]) {
        actor.stop();
        if (set.delete(actor)) this.counter?.actorStopped(kind);
      }
    }
  }
}
