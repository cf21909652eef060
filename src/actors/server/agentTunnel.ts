/**
 * The server's side of one agent stream: the tunnel actor plus everything it owns (its pending dials by
 * `random`, its connections by connectID). When the stream ends, every dial and connection it carried ends
 * with it, at once, instead of waiting for a timeout as the reference does.
 */
import * as machines from '../machines';
import type { AgentTunnelPort } from '../machines';
import type { Actor } from 'xstate';
import { agentTunnelMachine, type AgentTunnelContext } from '../../machines/agentTunnel.machine';
import { packets, type DecodedPacket, type Packet } from '../../protocol/packet';
import type { MalformedPacketError } from '../../protocol/errors';
import type { PacketStream, PacketStreamHandlers, StreamEnd } from '../../transport/packetStream';
import type { PeerLiveness } from '../../transport/liveness';
import type { AgentIdentifiers } from '../../protocol/agentIdentifiers';
import type { ActorLogger, LogFields } from '../instruments';
import type { ActorDescriber, ActorFacts } from '../actorHost';
import type { Frontend } from './frontend';
import { RecentIds } from './recentIds';
import { ConnectionTable, type TableOwner } from '../connectionTable';
import {
  carrierHandlers,
  dispatchPacket,
  streamEndReason,
  type CarrierReceiver,
  type PacketHandlers,
} from '../packetHandlers';
import { UnknownPacketNotice } from '../unknownPackets';
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

/** What an agent stream's packets do, for every tunnel (a tunnel is handed to each handler). */
const HANDLERS: PacketHandlers<AgentTunnel> = {
  DIAL_RSP: (t, p) => t.onDialResponse(p.random, p.connectID, p.error),
  DATA: (t, p) => t.onData(p.connectID, p.data),
  CLOSE_RSP: (t, p) => t.onCloseResponse(p.connectID, p.error),
  DRAIN: (t) => t.onDrain(),
  ...carrierHandlers<ProxiedConnection, AgentTunnel, 'DIAL_REQ' | 'CLOSE_REQ' | 'DIAL_CLS'>(
    { noun: 'agent', senders: 'frontends' },
    ['DIAL_REQ', 'CLOSE_REQ', 'DIAL_CLS'],
  ),
};

/**
 * The tunnel is its stream's handlers, its packets' receiver and its actor's port itself: a server holds
 * one per agent (thousands in a fleet), so it carries no closures of its own.
 */
export class AgentTunnel
  implements
    TunnelLink,
    PacketStreamHandlers,
    CarrierReceiver<ProxiedConnection>,
    AgentTunnelPort,
    ActorDescriber,
    TableOwner
{
  readonly streamId: string;
  readonly connectedAt: number;
  private readonly actor: Actor<typeof agentTunnelMachine>;
  /** Pending dials by random, connections by connectID (ours: ProxiedConnections only). */
  readonly table: ConnectionTable<ProxiedConnection>;
  /** Made on the first close: most tunnels of a large fleet carry no connection at a given time. */
  private recentlyClosed: RecentIds | null = null;
  private closeReason: string | null = null;
  private unknown: UnknownPacketNotice | undefined;

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
    this.table = new ConnectionTable<ProxiedConnection>(this);
    this.connectedAt = deps.now();
    this.actor = deps.host.start('agentTunnel', machines.agentTunnel.machine, {
      bind: (actor) => machines.agentTunnel.bind(actor, this),
      input: { agentId, streamId: this.streamId },
      describer: this,
    });
    stream.attach(this);
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

  /** What an inspector shows for the tunnel actor. */
  actorFacts(): ActorFacts {
    return { agent: this.agentId };
  }

  // ------------------------------------------------------------------- TableOwner
  receiveControl(): PacketStream {
    return this.stream;
  }

  connectionForgotten(connectID: bigint): void {
    this.rememberClosed(connectID);
  }

  // ------------------------------------------------------------------- PacketReceiver
  get log(): ActorLogger {
    return this.deps.log;
  }

  logFields(): LogFields {
    return { agentID: this.agentId, stream: this.streamId };
  }

  unknownPackets(): UnknownPacketNotice {
    return (this.unknown ??= new UnknownPacketNotice(this.deps.log, this.logFields()));
  }

  // ------------------------------------------------------------------- PacketStreamHandlers
  packet(packet: DecodedPacket): void {
    this.deps.metrics.packet('from_agent', packet.type);
    dispatchPacket(HANDLERS, this, packet);
  }

  malformed(err: MalformedPacketError): void {
    this.terminate(`malformed packet from agent: ${err.message}`);
  }

  drain(): void {
    this.table.streamDrained();
  }

  end(end: StreamEnd): void {
    const reason = streamEndReason(end, 'stream error: ');
    this.actor.send({ type: 'DISCONNECTED', reason: this.closeReason ?? reason });
  }

  // ------------------------------------------------------------------- AgentTunnelPort
  markDraining(): void {
    this.deps.onDraining(this);
  }

  releaseAll({ context }: { context: AgentTunnelContext }): void {
    this.release(context.disconnectReason ?? 'agent disconnected');
  }

  // ------------------------------------------------------------------- from the agent
  onDialResponse(random: bigint, connectID: bigint, error: string): void {
    const conn = this.table.dialsFor(random)[0];
    if (conn) {
      conn.onDialResponse(error, connectID);
    } else {
      this.deps.metrics.dialFailed('unrecognized_response');
      if (!error && connectID !== 0n) {
        // The dial was cancelled or timed out: release what the agent just opened.
        this.deps.log.info('late DIAL_RSP for a dial that is gone; closing it', {
          agentID: this.agentId,
          random,
          connectionID: connectID,
        });
        this.send(packets.closeRequest(connectID));
      }
    }
  }

  onData(connectID: bigint, data: Buffer): void {
    const conn = this.table.connection(connectID);
    if (conn) {
      conn.onAgentData(data);
    } else if (connectID !== 0n && !this.recentlyClosed?.has(connectID)) {
      this.deps.log.info('DATA from agent for an unknown connection; asking the agent to close it', {
        agentID: this.agentId,
        connectionID: connectID,
      });
      this.rememberClosed(connectID);
      this.send(packets.closeRequest(connectID));
    }
  }

  onCloseResponse(connectID: bigint, error: string): void {
    const conn = this.table.connection(connectID);
    if (conn) conn.onCloseResponse(error);
    else this.deps.log.debug(2, 'CLOSE_RSP for an unknown connection', { connectionID: connectID });
  }

  onDrain(): void {
    this.actor.send({ type: 'DRAIN' });
  }

  /** Closes the agent stream from our side (malformed input, shutdown). */
  terminate(reason: string): void {
    if (this.closeReason === null) {
      this.closeReason = reason;
      this.deps.log.warn('closing agent stream', { agentID: this.agentId, reason });
    }
    this.stream.abort(reason);
  }

  private release(reason: string): void {
    this.liveness?.release();
    this.table.releaseAll(reason);
    if (!this.stream.closed) this.stream.close();
    this.deps.onClosed(this, reason);
  }

  private rememberClosed(connectID: bigint): void {
    (this.recentlyClosed ??= new RecentIds(RECENTLY_CLOSED_LIMIT)).add(connectID);
  }
}
