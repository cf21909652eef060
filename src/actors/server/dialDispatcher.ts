/**
 * How a frontend's dial gets to an agent: its address checked, an agent available for it, a slot from
 * admission (dialAdmission.ts) at once or after waiting as a QueuedDial, or a refusal at once; then the
 * agent chosen and the DIAL_REQ sent through its tunnel. Every way it fails is told to the frontend,
 * counted and recorded here.
 */
import type { ServerEventFactory } from '../../events';
import { dialAddressLengthError } from '../../protocol/dialAddress';
import type { ActorLogger, ServerInstruments } from '../instruments';
import type { AgentTunnel } from './agentTunnel';
import type { BackendRegistry } from './backendRegistry';
import type { DialAdmission } from './dialAdmission';
import type { Frontend, FrontendDial } from './frontend';
import type { DialTicket } from './proxiedConnection';
import { QueuedDial } from './queuedDial';

export const NO_AGENT_AVAILABLE = 'No agent available';

export interface DialDispatcherDeps {
  readonly backends: BackendRegistry;
  readonly admission: DialAdmission;
  readonly events: ServerEventFactory;
  readonly log: ActorLogger;
  readonly metrics: ServerInstruments;
  readonly now: () => number;
  /** --backend-dial-timeout (0: none); the wait for admission counts against it. */
  readonly dialTimeoutMs: number;
  /** The server is shutting down: no agent takes dials any more. */
  readonly stopped: () => boolean;
}

export class DialDispatcher {
  /** Refusing since the last dial that was admitted or queued: one warning per spell, not per dial. */
  private refusing = false;

  constructor(private readonly deps: DialDispatcherDeps) {}

  /**
   * Starts a dial for a frontend. Returns what the frontend holds for it, or null after telling the
   * frontend why not. A dial goes to an agent when admission gives it a slot, at once or after waiting in
   * the queue; with the queue full it is refused at once (dialAdmission.ts).
   * `protocol` goes to the agent as the frontend sent it, as the reference server forwards the DIAL_REQ
   * unchanged: the agent decides what it can dial (ours refuses anything but tcp in Go's wording).
   */
  dial(random: bigint, address: string, frontend: Frontend, protocol = 'tcp'): FrontendDial | null {
    const key = { random, destination: address }; // the factory keeps a bounded prefix
    const requested = { ...key, mode: frontend.mode, protocol, frontend: frontend.peer };
    const tooLong = dialAddressLengthError(address);
    if (tooLong) {
      this.deps.events.dialRequested(requested);
      this.deps.events.dialFailed({ ...key, reason: 'bad-address', error: tooLong, latencyMs: 0 });
      this.deps.log.info('dial refused: address too long', { address, random, mode: frontend.mode });
      frontend.dialFailed('bad-address', tooLong);
      return null;
    }
    const tunnel = this.deps.stopped() ? undefined : this.deps.backends.pick(address);
    if (!tunnel) {
      this.deps.events.dialRequested(requested);
      this.noAgent(random, address, frontend);
      return null;
    }
    const slot = this.deps.admission.admitNow();
    if (slot) {
      this.refusing = false;
      const ticket = { slot, timeoutMs: this.deps.dialTimeoutMs, queued: false, waitedMs: 0 };
      return this.sendDial(random, address, frontend, protocol, ticket, tunnel);
    }
    const queued = new QueuedDial(random, address, frontend, {
      ...this.deps,
      send: (ticket) => this.sendDial(random, address, frontend, protocol, ticket),
    });
    const admission = this.deps.admission.request(queued, this.deps.dialTimeoutMs);
    if (admission.kind !== 'refused') this.refusing = false;
    switch (admission.kind) {
      case 'admitted':
        return this.sendDial(
          random,
          address,
          frontend,
          protocol,
          { slot: admission.slot, timeoutMs: this.deps.dialTimeoutMs, queued: false, waitedMs: 0 },
          tunnel,
        );
      case 'waiting':
        this.deps.events.dialRequested(requested);
        queued.waitAt(admission.place);
        this.deps.log.debug(2, 'dial waits for admission', {
          address,
          random,
          waiting: this.deps.admission.waitingCount,
        });
        return queued;
      case 'refused': {
        const error = admission.error.message;
        this.deps.metrics.dialFailed('too_many_dials');
        this.deps.events.dialRequested(requested);
        this.deps.events.dialFailed({ ...key, reason: 'too-many-dials', error, latencyMs: 0 });
        const fields = { address, random, mode: frontend.mode, ...this.deps.admission.limits };
        if (this.refusing) this.deps.log.debug(2, 'dial refused: admission queue full', fields);
        else this.deps.log.warn('admission queue full: refusing dials until it has room', fields);
        this.refusing = true;
        frontend.dialFailed('too-many-dials', error);
        return null;
      }
      default: {
        const _exhaustive: never = admission;
        return _exhaustive;
      }
    }
  }

  /**
   * Sends an admitted dial to `chosen`, or to an agent chosen now when it waited (the agents may have
   * changed meanwhile); the ticket's slot is given back however the dial ends.
   */
  private sendDial(
    random: bigint,
    address: string,
    frontend: Frontend,
    protocol: string,
    ticket: DialTicket,
    chosen?: AgentTunnel,
  ): FrontendDial | null {
    const tunnel = chosen ?? (this.deps.stopped() ? undefined : this.deps.backends.pick(address));
    if (!tunnel) {
      ticket.slot.release();
      // Its agents went away while it waited: dial.requested is recorded already.
      this.noAgent(random, address, frontend);
      return null;
    }
    const started = tunnel.dial(random, address, frontend, protocol, ticket);
    if ('duplicate' in started) {
      ticket.slot.release();
      frontend.dialFailed('agent-error', `a dial with random ${random} is already pending`);
      return null;
    }
    this.deps.log.debug(2, 'dial forwarded to agent', { address, random, agentID: tunnel.agentId });
    return started;
  }

  private noAgent(random: bigint, address: string, frontend: Frontend): void {
    this.deps.metrics.dialFailed('no_agent');
    this.deps.events.dialFailed({
      random,
      destination: address,
      reason: 'no-agent',
      error: NO_AGENT_AVAILABLE,
      latencyMs: 0,
    });
    this.deps.log.info('no agent available for dial', { address, random, mode: frontend.mode });
    frontend.dialFailed('no-agent', NO_AGENT_AVAILABLE);
  }
}
