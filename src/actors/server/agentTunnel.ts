/**
 * The server's side of one agent stream: the tunnel actor plus everything it owns (its pending dials by
 * `random`, its connections by connectID). When the stream ends, every dial and connection it carried ends
 * with it, at once, instead of waiting for a timeout as the reference does.
 */
import * as machines from '../machines';
import type { AgentTunnelPort } from '../machines';
import type { Actor } from 'xstate';
import { agentTunnelMachine } from '../../machines/agentTunnel.machine';
import { describePacket, packets, type DecodedPacket, type Packet } from '../../protocol/packet';
import type { PacketStream, StreamEnd } from '../../transport/packetStream';
import type { PeerLiveness } from '../../transport/liveness';
import type { AgentIdentifiers } from '../../protocol/agentIdentifiers';
import type { Frontend } from './frontend';
import { UnknownPacketNotice } from '../unknownPackets';
import { ProxiedConnection, type ProxiedConnectionDeps, type TunnelLink } from './proxiedConnection';

export interface AgentTunnelDeps extends ProxiedConnectionDeps {
  onClosed(tunnel: AgentTunnel, reason: string): void;
  onDraining(tunnel: AgentTunnel): void;
}

/** How many recently finished connectIDs to remember, so stray DATA after a close is dropped quietly. */
const RECENTLY_CLOSED_LIMIT = 4096;

let streamCounter = 0;

export class AgentTunnel implements TunnelLink {
  readonly streamId: string;
  readonly connectedAt: number;
  private readonly actor: Actor<typeof agentTunnelMachine>;
  private readonly dials = new Map<bigint, ProxiedConnection>();
  private readonly connections = new Map<bigint, ProxiedConnection>();
  /** Connections whose frontend is paused until the agent stream drains. */
  private readonly waitingForDrain = new Set<ProxiedConnection>();
  /** Overflowing connections holding the agent stream (only without credits). */
  private readonly holding = new Set<ProxiedConnection>();
  private readonly recentlyClosed = new Set<bigint>();
  private closeReason: string | null = null;
  private readonly unknownPackets: UnknownPacketNotice;

  constructor(
    readonly agentId: string,
    readonly identifiers: AgentIdentifiers,
    /** Whether the agent agreed on the credit extension (docs/flow-control.md). */
    readonly credits: boolean,
    private readonly stream: PacketStream,
    private readonly deps: AgentTunnelDeps,
    /** Whether the agent still answers pings; null when its session could not be watched. */
    private readonly liveness: PeerLiveness | null = null,
  ) {
    this.streamId = `${agentId}#${++streamCounter}`;
    this.unknownPackets = new UnknownPacketNotice(deps.log, { agentID: agentId, stream: this.streamId });
    this.connectedAt = deps.now();
    const port: AgentTunnelPort = {
      markDraining: () => deps.onDraining(this),
      releaseAll: ({ context }) => this.releaseAll(context.disconnectReason ?? 'agent disconnected'),
    };
    this.actor = deps.host.start('agentTunnel', machines.agentTunnel.machine, {
      bind: (actor) => machines.agentTunnel.bind(actor, port),
      input: { agentId, streamId: this.streamId },
      describe: () => ({ agent: agentId }),
    });
    stream.attach({
      packet: (p) => this.onPacket(p),
      malformed: (err) => this.terminate(`malformed packet from agent: ${err.message}`),
      drain: () => this.onAgentDrain(),
      end: (end) => this.onStreamEnd(end),
    });
  }

  /** The tunnel actor's id: the owner an inspector shows for its dials and connections. */
  get actorId(): string {
    return this.actor.sessionId;
  }

  get draining(): boolean {
    return this.actor.getSnapshot().value === 'draining';
  }

  /**
   * The agent has not been heard from for the ping timeout: it gets no new dials, even before the
   * keepalive timeout ends its stream (a frozen agent would only leave them pending).
   */
  get silent(): boolean {
    return this.liveness?.silent ?? false;
  }

  get pendingDialCount(): number {
    return this.dials.size;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Bytes this tunnel's connections hold for frontends that have not taken them yet. */
  bufferedBytes(): number {
    let n = 0;
    for (const conn of this.connections.values()) n += conn.flow?.bufferedBytes ?? 0;
    return n;
  }

  /** Starts a dial through this tunnel on behalf of a frontend. */
  dial(
    random: bigint,
    address: string,
    frontend: Frontend,
    protocol = 'tcp',
  ): ProxiedConnection | { duplicate: true } {
    if (this.dials.has(random)) return { duplicate: true };
    const conn = new ProxiedConnection(random, address, frontend, this, this.deps, protocol);
    this.dials.set(random, conn);
    conn.start();
    return conn;
  }

  // ------------------------------------------------------------------- TunnelLink
  sendToAgent(packet: Packet): boolean {
    this.deps.metrics.packet('to_agent', packet.type);
    return this.stream.send(packet);
  }

  waitForAgentDrain(conn: ProxiedConnection): void {
    this.waitingForDrain.add(conn);
  }

  holdStream(conn: ProxiedConnection): void {
    if (this.holding.size === 0) this.stream.pauseReceiving();
    this.holding.add(conn);
  }

  releaseStream(conn: ProxiedConnection): void {
    if (this.holding.delete(conn) && this.holding.size === 0) this.stream.resumeReceiving();
  }

  connectionEstablished(conn: ProxiedConnection): void {
    this.dials.delete(conn.random);
    this.connections.set(conn.connectID!, conn);
  }

  forget(conn: ProxiedConnection): void {
    if (this.dials.get(conn.random) === conn) this.dials.delete(conn.random);
    if (conn.connectID !== null && this.connections.get(conn.connectID) === conn) {
      this.connections.delete(conn.connectID);
      this.rememberClosed(conn.connectID);
    }
    this.waitingForDrain.delete(conn);
    this.releaseStream(conn);
  }

  // ------------------------------------------------------------------- from the agent
  private onPacket(p: DecodedPacket): void {
    this.deps.metrics.packet('from_agent', p.type);
    switch (p.type) {
      case 'DIAL_RSP': {
        const conn = this.dials.get(p.random);
        if (conn) {
          conn.onDialResponse(p.error, p.connectID);
        } else {
          this.deps.metrics.dialFailed('unrecognized_response');
          if (!p.error && p.connectID !== 0n) {
            // The dial was cancelled or timed out: release what the agent just opened.
            this.deps.log.info('late DIAL_RSP for a dial that is gone; closing it', {
              agentID: this.agentId,
              random: p.random,
              connectionID: p.connectID,
            });
            this.sendToAgent(packets.closeRequest(p.connectID));
          }
        }
        return;
      }
      case 'DATA': {
        const conn = this.connections.get(p.connectID);
        if (conn) {
          conn.onAgentData(p.data);
        } else if (p.connectID !== 0n && !this.recentlyClosed.has(p.connectID)) {
          this.deps.log.info('DATA from agent for an unknown connection; asking the agent to close it', {
            agentID: this.agentId,
            connectionID: p.connectID,
          });
          this.rememberClosed(p.connectID);
          this.sendToAgent(packets.closeRequest(p.connectID));
        }
        return;
      }
      case 'CLOSE_RSP': {
        const conn = this.connections.get(p.connectID);
        if (conn) conn.onCloseResponse(p.error);
        else this.deps.log.debug(2, 'CLOSE_RSP for an unknown connection', { connectionID: p.connectID });
        return;
      }
      case 'DRAIN':
        this.actor.send({ type: 'DRAIN' });
        return;
      case 'CREDIT': {
        if (!this.credits) {
          this.deps.log.warn('CREDIT from an agent that did not negotiate flow control; ignored', {
            agentID: this.agentId,
          });
          return;
        }
        this.connections.get(p.connectID)?.onCredit(Number(p.bytes));
        return;
      }
      case 'UNKNOWN':
        this.unknownPackets.ignored(p.code);
        return;
      case 'DIAL_REQ':
      case 'CLOSE_REQ':
      case 'DIAL_CLS':
        this.deps.log.warn('agent sent a packet only frontends send; ignored', {
          agentID: this.agentId,
          packet: describePacket(p),
        });
        return;
      default: {
        const _exhaustive: never = p;
        return _exhaustive;
      }
    }
  }

  private onAgentDrain(): void {
    const waiting = [...this.waitingForDrain];
    this.waitingForDrain.clear();
    for (const conn of waiting) conn.flow?.release('tunnel');
  }

  private onStreamEnd(end: StreamEnd): void {
    const reason =
      end.kind === 'error'
        ? `stream error: ${end.error.message}`
        : end.kind === 'local'
          ? end.reason
          : `stream ${end.kind}`;
    this.actor.send({ type: 'DISCONNECTED', reason: this.closeReason ?? reason });
  }

  /** Closes the agent stream from our side (malformed input, shutdown). */
  terminate(reason: string): void {
    if (this.closeReason === null) {
      this.closeReason = reason;
      this.deps.log.warn('closing agent stream', { agentID: this.agentId, reason });
    }
    this.stream.abort(reason);
  }

  private releaseAll(reason: string): void {
    this.liveness?.release();
    for (const conn of [...this.dials.values(), ...this.connections.values()]) conn.tunnelLost(reason);
    this.dials.clear();
    this.connections.clear();
    this.waitingForDrain.clear();
    this.holding.clear();
    if (!this.stream.closed) this.stream.close();
    this.deps.onClosed(this, reason);
  }

  private rememberClosed(connectID: bigint): void {
    this.recentlyClosed.add(connectID);
    if (this.recentlyClosed.size > RECENTLY_CLOSED_LIMIT) {
      const oldest = this.recentlyClosed.values().next().value;
      if (oldest !== undefined) this.recentlyClosed.delete(oldest);
    }
  }
}
