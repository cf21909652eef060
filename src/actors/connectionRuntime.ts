/**
 * The connection machine (src/machines/connection.machine.ts) run without XState's interpreter, for the
 * dial path. XState works out each transition at run time (the transition domain, the exit and entry
 * sets, the snapshot copies); on this path that was about a fifth of the server's and the agent's CPU per
 * dial and most of their warm-up (docs/benchmarks.md, "Connections without XState's interpreter"). The
 * machine is small and its transitions are few, so here they are written out once, in the order XState
 * runs them (exit actions innermost first, then the transition's own actions, then entry actions).
 *
 * The XState definition stays the specification: test/actors/connectionRuntime.test.ts runs every sequence
 * of events and expired delays up to a fixed depth through both, and they must agree on every effect, its
 * order and the context it saw, on each state, and on the output. Change the machine and that test fails
 * until this file follows.
 *
 * What an inspector reads of an actor is here too (a session id, the snapshot's value, an inspection hook
 * that reports snapshots), so a connection run here is listed, queried and watched like any other actor.
 * An actor started while someone observes the whole host (ActorHost.observe) runs on XState instead, with
 * every inspection event XState makes.
 */
import type { InspectionEvent, Subscription } from 'xstate';
import {
  CLOSE_CONFIRM_TIMEOUT_MS,
  type ConnectionCloser,
  type ConnectionContext,
  type ConnectionEvent,
  type ConnectionOutput,
  type DialOutcome,
} from '../machines/connection.machine';
import { OVERFLOW_GRACE_MS } from '../protocol/flowControl';
import type { ConnectionPort } from './machines';

/** What the runtime schedules its delays on (XState's clock interface; the host gives ioFairClock). */
export interface RuntimeClock {
  setTimeout(fn: () => void, timeoutMs: number): unknown;
  clearTimeout(id: unknown): void;
}

/** Told how the actor ended, as ActorHost's observer of an XState actor is. */
export interface RuntimeObserver {
  complete(): void;
  error(err: unknown): void;
}

type State =
  | 'dialing.timed'
  | 'dialing.untimed'
  | 'open.flowing'
  | 'open.overflowing'
  | 'closing'
  | 'failed'
  | 'cancelled'
  | 'peerLost'
  | 'timedOut'
  | 'closed';

/** Each state's value as XState's snapshots spell it (what the inspector reads). */
const VALUES: Readonly<Record<State, unknown>> = {
  'dialing.timed': Object.freeze({ dialing: 'timed' }),
  'dialing.untimed': Object.freeze({ dialing: 'untimed' }),
  'open.flowing': Object.freeze({ open: 'flowing' }),
  'open.overflowing': Object.freeze({ open: 'overflowing' }),
  closing: 'closing',
  failed: 'failed',
  cancelled: 'cancelled',
  peerLost: 'peerLost',
  timedOut: 'timedOut',
  closed: 'closed',
};

/** The machine's delays by its names for them; an expiry is reported as the event `xstate.after.<name>`. */
type Delay = 'dialTimeout' | 'overflowGrace' | 'closeConfirmTimeout';

let sessions = 0;

/** The event a start is reported with, as XState's. */
const INIT = { type: 'xstate.init' } as unknown as ConnectionEvent;
/** A stop asked for while an event is being handled, queued behind it. */
const STOP = { type: 'xstate.stop' } as unknown as ConnectionEvent;

export interface ConnectionSnapshot {
  readonly value: unknown;
  readonly context: ConnectionContext;
  readonly status: 'active' | 'done' | 'error' | 'stopped';
  readonly output: ConnectionOutput | undefined;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What each effect is given, as XState gives its actions. */
type EffectArgs = { context: ConnectionContext; event: ConnectionEvent };

export class ConnectionRuntime {
  /** Unique in the process; the `r:` prefix keeps it apart from XState's own `x:` ids. */
  readonly sessionId = `r:${++sessions}`;
  private state: State = 'dialing.untimed';
  private readonly context: Mutable<ConnectionContext>;
  private readonly snapshot: Mutable<ConnectionSnapshot>;
  private timer: unknown = null;
  /** Events sent while one is being handled (an effect telling its own actor): handled after it. */
  private queue: ConnectionEvent[] | null = null;
  private busy = false;
  private inspectors: Set<(event: InspectionEvent) => void> | null = null;
  /** Told how the actor ended (the host's entry for it); set by `start`. */
  private observer: RuntimeObserver | null = null;
  /**
   * What the inspector's watch subscribes through (XState actors have it on their system); made when asked,
   * so that an open connection carries no closure for it.
   */
  get system(): { inspect(observer: (event: InspectionEvent) => void): Subscription } {
    return { inspect: (observer) => this.watch(observer) };
  }

  constructor(
    private readonly port: ConnectionPort,
    timeoutMs: number,
    private readonly clock: RuntimeClock,
  ) {
    this.context = { timeoutMs, connectID: null, error: null, outcome: null, closedBy: null, reason: null };
    this.snapshot = { value: VALUES[this.state], context: this.context, status: 'active', output: undefined };
  }

  getSnapshot(): ConnectionSnapshot {
    return this.snapshot;
  }

  /** Enters `dialing`: the dial starts, then its timeout if it has one. `observer` is told how it ends. */
  start(observer: RuntimeObserver): this {
    this.observer = observer;
    this.run(INIT, () => {
      this.port.startDial(this.args(INIT));
      if (this.context.timeoutMs > 0) {
        this.enter('dialing.timed');
        this.schedule('dialTimeout', this.context.timeoutMs);
      }
    });
    return this;
  }

  send(event: ConnectionEvent): void {
    if (this.snapshot.status !== 'active') return;
    if (this.busy) {
      (this.queue ??= []).push(event);
      return;
    }
    this.run(event, () => this.transition(event));
  }

  /**
   * Stops without running any effect (shutdown), as XState's stop does: the delay is cancelled, events still
   * queued are dropped, and the observer is told the actor completed (its owner then winds it up).
   */
  stop(): void {
    if (this.snapshot.status !== 'active') return;
    if (this.busy) {
      // As XState queues its stop behind the event being handled.
      (this.queue ??= []).push(STOP);
      return;
    }
    this.halt();
  }

  private halt(): void {
    this.cancelTimer();
    this.snapshot.status = 'stopped';
    this.queue = null;
    this.observer?.complete();
  }

  /** Handles one event, then any its effects sent meanwhile; an effect that throws ends the actor in error. */
  private run(event: ConnectionEvent, step: () => void): void {
    this.busy = true;
    try {
      step();
      this.inspected(event);
      while (this.queue !== null && this.queue.length > 0 && this.snapshot.status === 'active') {
        const next = this.queue.shift()!;
        if (next === STOP) {
          this.busy = false;
          this.halt();
          return;
        }
        this.transition(next);
        this.inspected(next);
      }
    } catch (err) {
      this.cancelTimer();
      this.snapshot.status = 'error';
      this.queue = null;
      this.busy = false;
      this.observer?.error(err);
      return;
    }
    this.busy = false;
    if (this.snapshot.status === 'done') this.observer?.complete();
  }

  private transition(event: ConnectionEvent): void {
    const { port, context } = this;
    // One per event: the context is the same object throughout, so every effect of the event can share it.
    const args = this.args(event);
    switch (this.state) {
      case 'dialing.timed':
      case 'dialing.untimed':
        switch (event.type) {
          case 'DIAL_SUCCEEDED':
            this.leaveDialing(args);
            context.connectID = event.connectID;
            context.outcome = 'established';
            port.reportEstablished(args);
            this.enter('open.flowing');
            return;
          case 'DIAL_FAILED':
            this.leaveDialing(args);
            context.error = event.error;
            port.reportRefused(args);
            this.end('failed');
            return;
          case 'CANCEL':
            this.leaveDialing(args);
            port.abandonDial(args);
            port.reportCancelled(args);
            this.end('cancelled');
            return;
          case 'TUNNEL_LOST':
            this.leaveDialing(args);
            context.error = event.reason;
            port.abandonDial(args);
            port.reportPeerLost(args);
            this.end('peerLost');
            return;
          default:
            return;
        }
      case 'open.flowing':
      case 'open.overflowing':
        switch (event.type) {
          case 'OVERFLOWED':
            if (this.state !== 'open.flowing') return;
            this.enter('open.overflowing');
            port.holdTunnel(args);
            this.schedule('overflowGrace', OVERFLOW_GRACE_MS);
            return;
          case 'DRAINED':
            if (this.state !== 'open.overflowing') return;
            this.leaveOverflowing(args);
            this.enter('open.flowing');
            return;
          case 'CLOSE_REQUESTED':
            this.leaveOverflowing(args);
            this.recordClose('near', event);
            port.requestFarClose(args);
            this.enter('closing');
            this.schedule('closeConfirmTimeout', CLOSE_CONFIRM_TIMEOUT_MS);
            return;
          case 'FAR_END_CLOSED':
            this.leaveOverflowing(args);
            this.recordClose('far', event);
            port.notifyNearClosed(args);
            this.end('closed');
            return;
          case 'TUNNEL_LOST':
            this.leaveOverflowing(args);
            this.recordClose('lost', event);
            port.abortBoth(args);
            this.end('closed');
            return;
          default:
            return;
        }
      case 'closing':
        if (event.type === 'FAR_END_CLOSED') {
          this.cancelTimer();
          port.notifyNearClosed(args);
          this.end('closed');
        } else if (event.type === 'TUNNEL_LOST') {
          this.cancelTimer();
          port.abortBoth(args);
          this.end('closed');
        }
        return;
      default:
        return;
    }
  }

  /** A delay ran out in the state that set it (leaving the state cancels it). */
  private expired(delay: Delay): void {
    this.timer = null;
    if (this.snapshot.status !== 'active') return;
    const event = { type: `xstate.after.${delay}` } as unknown as ConnectionEvent;
    this.run(event, () => {
      const { port, context } = this;
      const args = this.args(event);
      if (delay === 'dialTimeout') {
        port.dialSettled(args);
        context.error = 'dial timeout';
        port.abandonDial(args);
        port.reportTimedOut(args);
        this.end('timedOut');
      } else if (delay === 'overflowGrace') {
        port.releaseTunnel(args);
        context.closedBy ??= 'evicted';
        context.reason ??= 'buffer-overflow';
        port.evict(args);
        this.end('closed');
      } else {
        port.notifyNearClosed(args);
        port.abortBoth(args);
        this.end('closed');
      }
    });
  }

  private leaveDialing(args: EffectArgs): void {
    this.cancelTimer();
    this.port.dialSettled(args);
  }

  /** Leaving `open` or `overflowing` ends an overflow: the tunnel is released (its grace is cancelled). */
  private leaveOverflowing(args: EffectArgs): void {
    if (this.state !== 'open.overflowing') return;
    this.cancelTimer();
    this.port.releaseTunnel(args);
  }

  private recordClose(by: ConnectionCloser, event: ConnectionEvent): void {
    const context = this.context;
    context.closedBy ??= by;
    context.reason ??= 'reason' in event ? event.reason : null;
  }

  private enter(state: State): void {
    this.state = state;
    this.snapshot.value = VALUES[state];
  }

  /** A final state: the outcome is recorded on entry (the dial's), and the output made as XState's is. */
  private end(state: Exclude<State, `dialing.${string}` | `open.${string}` | 'closing'>): void {
    this.cancelTimer();
    if (state !== 'closed') this.context.outcome = state satisfies DialOutcome;
    this.enter(state);
    const context = this.context;
    const established = context.outcome === 'established';
    this.snapshot.output = {
      outcome: context.outcome ?? 'failed',
      connectID: context.connectID,
      error: context.error,
      closedBy: established ? (context.closedBy ?? 'lost') : null,
      reason: established ? (context.reason ?? 'unknown') : null,
    };
    this.snapshot.status = 'done';
  }

  private schedule(delay: Delay, ms: number): void {
    this.timer = this.clock.setTimeout(() => this.expired(delay), ms);
  }

  private cancelTimer(): void {
    if (this.timer === null) return;
    this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private args(event: ConnectionEvent): EffectArgs {
    return { context: this.context, event };
  }

  private watch(observer: (event: InspectionEvent) => void): Subscription {
    (this.inspectors ??= new Set()).add(observer);
    return { unsubscribe: () => this.inspectors?.delete(observer) };
  }

  /** Reports the snapshot after an event to whoever watches this actor (nobody, nearly always). */
  private inspected(event: ConnectionEvent): void {
    if (this.inspectors === null || this.inspectors.size === 0) return;
    const inspection = {
      type: '@xstate.snapshot',
      actorRef: this,
      rootId: this.sessionId,
      event,
      snapshot: { ...this.snapshot },
    } as unknown as InspectionEvent;
    for (const observer of this.inspectors) observer(inspection);
  }
}
