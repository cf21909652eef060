/**
 * A frontend's dial while it waits for admission (dialAdmission.ts): no agent has been chosen and nothing
 * has been sent. Once admitted it becomes a ProxiedConnection, to which everything is handed on; a dial
 * that its frontend gives up while waiting leaves the queue at once and never reaches an agent.
 */
import type { ServerEventFactory } from '../../events';
import type { ActorLogger, ServerInstruments } from '../instruments';
import type { DialSlot, QueuePlace, WaitingDial } from './dialAdmission';
import type { Frontend, FrontendDial } from './frontend';
import type { DialTicket } from './proxiedConnection';
import { SERVER_DIAL_FAILURES, serverDialErrorText } from '../dialOutcomes';

export interface QueuedDialDeps {
  log: ActorLogger;
  metrics: ServerInstruments;
  events: ServerEventFactory;
  now: () => number;
  /** The configured dial timeout (0: none); the wait counts against it. */
  dialTimeoutMs: number;
  /** Sends the admitted dial to an agent; null when it could not be sent (the frontend has been told). */
  send(ticket: DialTicket): FrontendDial | null;
}

export class QueuedDial implements WaitingDial, FrontendDial {
  /** The queue place while waiting; null once admitted, expired or given up. */
  private place: QueuePlace | null = null;
  /** The dial once admitted and sent. */
  private sent: FrontendDial | null = null;
  private over = false;
  private readonly requestedAt: number;

  constructor(
    readonly random: bigint,
    readonly address: string,
    private readonly frontend: Frontend,
    private readonly deps: QueuedDialDeps,
  ) {
    this.requestedAt = deps.now();
  }

  /** Called once, right after the gate gave it a place. */
  waitAt(place: QueuePlace): void {
    this.place = place;
  }

  get phase(): FrontendDial['phase'] {
    if (this.sent) return this.sent.phase;
    return this.over ? 'done' : 'waiting';
  }

  // ------------------------------------------------------------------- from the gate
  admitted(slot: DialSlot, waitedMs: number): void {
    this.place = null;
    if (this.over) {
      slot.release();
      return;
    }
    const configured = this.deps.dialTimeoutMs;
    // A dial admitted at its deadline's edge keeps at least a millisecond: the gate expires late ones.
    const timeoutMs = configured > 0 ? Math.max(1, configured - waitedMs) : 0;
    this.sent = this.deps.send({ slot, timeoutMs, queued: true, waitedMs });
    if (!this.sent) this.over = true;
  }

  expired(waitedMs: number): void {
    this.place = null;
    if (this.over) return;
    this.over = true;
    const facts = SERVER_DIAL_FAILURES.timedOut;
    this.deps.metrics.dialFailed(facts.metric);
    this.deps.events.dialTimedOut({ ...this.key(), timeoutMs: this.deps.dialTimeoutMs });
    this.deps.log.info('dial timed out waiting for admission', {
      address: this.address,
      random: this.random,
      waitedMs,
    });
    this.frontend.dialFailed(facts.frontend, serverDialErrorText('timedOut', null));
  }

  dropped(error: string): void {
    this.place = null;
    if (this.over) return;
    this.over = true;
    this.deps.metrics.dialFailed('no_agent');
    this.deps.events.dialFailed({ ...this.key(), reason: 'no-agent', error, latencyMs: this.waited() });
    this.frontend.dialFailed('no-agent', error);
  }

  // ------------------------------------------------------------------- from the frontend
  sendData(data: Buffer): void {
    this.sent?.sendData(data);
  }

  requestClose(reason: string): void {
    this.sent?.requestClose(reason);
  }

  cancelDial(): void {
    if (this.sent) this.sent.cancelDial();
    else this.giveUp('dial-cls');
  }

  frontendGone(reason: string): void {
    if (this.sent) {
      this.sent.frontendGone(reason);
    } else if (this.giveUp('frontend-closed')) {
      // As a pending dial whose frontend goes away is counted.
      this.deps.metrics.dialFailed('frontend_close');
    }
  }

  /** The frontend gave up while waiting: leave the queue; true when it was still waiting. */
  private giveUp(reason: 'dial-cls' | 'frontend-closed'): boolean {
    if (this.over) return false;
    this.over = true;
    this.place?.leave();
    this.place = null;
    this.deps.events.dialCancelled({ ...this.key(), reason, latencyMs: this.waited() });
    this.deps.log.debug(2, 'dial given up while waiting for admission', {
      address: this.address,
      random: this.random,
      reason,
    });
    return true;
  }

  private waited(): number {
    return this.deps.now() - this.requestedAt;
  }

  private key(): { random: bigint; destination: string } {
    return { random: this.random, destination: this.address };
  }
}
