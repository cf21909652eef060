/**
 * The server's side of one agent stream: the tunnel actor plus everything it owns (its pending dials by
 * `random`, its connections by connectID). When the stream ends, every dial and connection it carried ends
 * with it, at once, instead of waiting for a timeout as the reference does.
 */
import * as machines from '../machines';
import type { AgentTunnelPort } from '../machines';
import type { Actor } from 'xstate';
import { agentTunnelMachine } from '../../machines/agentTunnel.machine';
import { packets, type Packet } from '../../protocol/packet';
import type { PacketStream, StreamEnd } from '../../transport/packetStream';
import type { PeerLiveness } from '../../transport/liveness';
import type { AgentIdentifiers } from '../../protocol/agentIdentifiers';
import type { Frontend } from './frontend';
import { ConnectionTable } from '../connectionTable';
import { carrierHandlers, packetReceiver, streamEndReason, type PacketHandlers } from '../packetHandlers';
import type { StreamPeer } from '../packetHandlers';
import {
  ProxiedConnection,
  type DialTicket,
  type ProxiedConnectionDeps,
  type TunnelLink,
} from './proxiedConnection';

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
  /** Pending dials by random, connections by connectID (ours: ProxiedConnections only). */
  readonly table: ConnectionTable<ProxiedConnection>;
  /** Made on the first close: most tunnels of a large fleet carry no connection at a given time. */
  private recentlyClosed: Set<bigint> | null = null;
  private closeReason: string | null = null;

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
    this.table = new ConnectionTable<ProxiedConnection>(
      () => stream,
      (connectID) => this.rememberClosed(connectID),
    );
    const receive = packetReceiver(
      (type) => deps.metrics.packet('from_agent', type),
      this.packetHandlers({
        log: deps.log,
        noun: 'agent',
        senders: 'frontends',
        fields: { agentID: agentId, stream: this.streamId },
      }),
    );
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
      packet: receive,
      malformed: (err) => this.terminate(`malformed packet from agent: ${err.message}`),
      drain: () => this.table.streamDrained(),
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
    return this.table.pendingDialCount;
  }

  get connectionCount(): number {
    return this.table.connectionCount;
  }

  /** Bytes this tunnel's connections hold for frontends that have not taken them yet. */
  bufferedBytes(): number {
    return this.table.bufferedBytes();
  }

  /** Starts a dial through this tunnel on behalf of a frontend. */
  dial(
    random: bigint,
    address: string,
    frontend: Frontend,
    protocol = 'tcp',
    ticket: DialTicket | null = null,
  ): ProxiedConnection | { duplicate: true } {
    if (this.table.dialsFor(random).length > 0) return { duplicate: true };
    const conn = new ProxiedConnection(random, address, frontend, this, this.deps, protocol, ticket);
    this.table.addDial(conn);
    conn.start();
    return conn;
  }

  // ------------------------------------------------------------------- TunnelLink
  send(packet: Packet): boolean {
    this.deps.metrics.packet('to_agent', packet.type);
    return this.stream.send(packet);
  }

  // ------------------------------------------------------------------- from the agent
  private packetHandlers(peer: StreamPeer): PacketHandlers {
    return {
      DIAL_RSP: (p) => {
        const conn = this.table.dialsFor(p.random)[0];
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
            this.send(packets.closeRequest(p.connectID));
          }
        }
      },
      DATA: (p) => {
        const conn = this.table.connection(p.connectID);
        if (conn) {
          conn.onAgentData(p.data);
        } else if (p.connectID !== 0n && !this.recentlyClosed?.has(p.connectID)) {
          this.deps.log.info('DATA from agent for an unknown connection; asking the agent to close it', {
            agentID: this.agentId,
            connectionID: p.connectID,
          });
          this.rememberClosed(p.connectID);
          this.send(packets.closeRequest(p.connectID));
        }
      },
      CLOSE_RSP: (p) => {
        const conn = this.table.connection(p.connectID);
        if (conn) conn.onCloseResponse(p.error);
        else this.deps.log.debug(2, 'CLOSE_RSP for an unknown connection', { connectionID: p.connectID });
      },
      DRAIN: () => this.actor.send({ type: 'DRAIN' }),
      ...carrierHandlers(
        peer,
        ['DIAL_REQ', 'CLOSE_REQ', 'DIAL_CLS'] as const,
        () => this.credits,
        this.table,
      ),
    };
  }

  private onStreamEnd(end: StreamEnd): void {
    const reason = streamEndReason(end, 'stream error: ');
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
    this.table.releaseAll(reason);
    if (!this.stream.closed) this.stream.close();
    this.deps.onClosed(this, reason);
  }

  private rememberClosed(connectID: bigint): void {
    const closed = (this.recentlyClosed ??= new Set<bigint>());
    closed.add(connectID);
    if (closed.size > RECENTLY_CLOSED_LIMIT) {
      const oldest = closed.values().next().value;
      if (oldest !== undefined) closed.delete(oldest);
    }
  }
}
