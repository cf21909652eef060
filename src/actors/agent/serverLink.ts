/**
 * The agent's connection to one server: the serverLink actor (connect, serve, back off, reconnect) and the
 * endpoint connections carried by the current stream. connectIDs count from 1 per stream, as in the
 * reference, so a new stream after a reconnect starts again at 1.
 */
import * as machines from '../machines';
import type { ServerLinkPort } from '../machines';
import type { Actor } from 'xstate';
import { serverLinkMachine } from '../../machines/serverLink.machine';
import { packets, type DecodedPacket, type Packet } from '../../protocol/packet';
import type { OpenedLink } from '../../transport/agentClient';
import type { StreamEnd } from '../../transport/packetStream';
import type { ActorHost } from '../actorHost';
import type { AgentEventFactory } from '../../events';
import type { ActorLogger, AgentInstruments, LogFields } from '../instruments';
import { EndpointConnection, type EndpointLink } from './endpointConnection';
import type { DestinationPolicy } from './destinationPolicy';
import { ConnectionTable } from '../connectionTable';
import {
  carrierHandlers,
  dispatchPacket,
  streamEndReason,
  type CarrierReceiver,
  type PacketHandlers,
} from '../packetHandlers';
import { UnknownPacketNotice } from '../unknownPackets';

export interface ServerLinkDeps {
  host: ActorHost;
  log: ActorLogger;
  metrics: AgentInstruments;
  now: () => number;
  /** Opens the gRPC stream (with fresh metadata: the token file is re-read at every connect). */
  open(address: string): Promise<OpenedLink>;
  /** Called when the link has a server id; false means another link already holds it (HA duplicate). */
  claim(link: ServerLink, serverId: string, serverCount: number): boolean;
  release(link: ServerLink, serverId: string): void;
  random?: () => number;
  endpointDialTimeoutMs?: number;
  events: AgentEventFactory;
  policy?: DestinationPolicy;
}

export interface ServerLinkSettings {
  address: string;
  syncIntervalMs: number;
  syncIntervalCapMs: number;
  draining: boolean;
  /** A sync-loop probe: ends with its stream instead of reconnecting. */
  oneShot?: boolean;
}

/** What a one-shot link's connect attempt found. */
export type ProbeOutcome = 'new-server' | 'duplicate' | 'failed';

/** What a server stream's packets do, for every link (a link is handed to each handler). */
const HANDLERS: PacketHandlers<ServerLink> = {
  DIAL_REQ: (l, p) => l.onDialRequest(p),
  DATA: (l, p) => l.onData(p.connectID, p.data),
  CLOSE_REQ: (l, p) => l.onCloseRequest(p.connectID),
  DIAL_CLS: (l, p) => l.onDialClose(p.random),
  ...carrierHandlers<EndpointConnection, ServerLink, 'DIAL_RSP' | 'CLOSE_RSP' | 'DRAIN'>(
    { noun: 'server', senders: 'agents' },
    ['DIAL_RSP', 'CLOSE_RSP', 'DRAIN'],
  ),
};

export class ServerLink implements EndpointLink, CarrierReceiver<EndpointConnection> {
  private readonly actor: Actor<typeof serverLinkMachine>;
  private current: OpenedLink | null = null;
  private generation = 0;
  private nextConnectID = 0n;
  /** The server id this link holds in the client set, once claimed. */
  private claimed: string | null = null;
  /** This stream's bounded log of unknown packet types (packetHandlers.ts). */
  private unknown: UnknownPacketNotice | undefined;
  /** The current stream's endpoint dials by random and connections by connectID. */
  readonly table = new ConnectionTable<EndpointConnection>({
    receiveControl: () => this.current?.stream ?? null,
  });
  private probeListener: ((outcome: ProbeOutcome) => void) | null = null;

  constructor(
    readonly address: string,
    settings: ServerLinkSettings,
    private readonly deps: ServerLinkDeps,
  ) {
    const random = deps.random ?? Math.random;
    const port: ServerLinkPort = {
      openLink: () => this.connect(random),
      linkReady: () => this.serve(),
      sendDrain: () => {
        this.send(packets.drain());
      },
      releaseAll: ({ context }) => this.releaseAll(context.lastError ?? 'server connection closed'),
      closeLink: () => this.closeCurrent(),
    };
    this.actor = deps.host.start('serverLink', machines.serverLink.machine, {
      bind: (actor) => machines.serverLink.bind(actor, port),
      input: settings,
      describer: { actorFacts: () => ({ server: this.serverId ?? undefined, destination: address }) },
    });
  }

  /** Told once what the first connect attempt found (for the sync loop). */
  onProbe(listener: (outcome: ProbeOutcome) => void): void {
    this.probeListener = listener;
  }

  /** Told when the link has ended for good (stopped, retired, or a one-shot link's stream ended). */
  onEnded(listener: () => void): void {
    this.actor.subscribe({ complete: listener });
  }

  private reportProbe(outcome: ProbeOutcome): void {
    const listener = this.probeListener;
    this.probeListener = null;
    listener?.(outcome);
  }

  /** The link actor's id: the owner an inspector shows for its endpoint connections. */
  get actorId(): string {
    return this.actor.sessionId;
  }

  get serverId(): string | null {
    return this.actor.getSnapshot().context.serverId;
  }

  get stopped(): boolean {
    return this.actor.getSnapshot().status !== 'active';
  }

  get endpointCount(): number {
    return this.table.connectionCount;
  }

  /** Bytes this link's endpoint connections hold for endpoints that have not taken them yet. */
  bufferedBytes(): number {
    return this.table.bufferedBytes();
  }

  drain(): void {
    this.actor.send({ type: 'DRAIN_REQUESTED' });
  }

  stop(): void {
    this.actor.send({ type: 'STOP' });
  }

  private connect(random: () => number): void {
    const generation = ++this.generation;
    this.deps.open(this.address).then(
      (opened) => {
        if (generation !== this.generation || this.stopped) {
          opened.close();
          return;
        }
        this.current = opened;
        this.actor.send({ type: 'LINK_UP', serverId: opened.serverId, serverCount: opened.serverCount });
      },
      (err: Error) => {
        if (generation !== this.generation) return;
        this.deps.log.warn('cannot connect to proxy server', { address: this.address, error: err.message });
        this.reportProbe('failed');
        this.actor.send({ type: 'LINK_FAILED', error: err.message, jitter: random() });
      },
    );
  }

  private serve(): void {
    const link = this.current!;
    const { serverId, serverCount } = link;
    if (!this.deps.claim(this, serverId, serverCount)) {
      this.deps.log.info('already connected to this proxy server; closing the duplicate', {
        serverID: serverId,
      });
      this.reportProbe('duplicate');
      this.actor.send({ type: 'RETIRE', reason: `already connected to server ${serverId}` });
      return;
    }
    this.claimed = serverId;
    this.reportProbe('new-server');
    this.deps.events.serverConnected({ serverId, serverCount, address: this.address });
    this.nextConnectID = 0n;
    this.deps.metrics.serverConnections(1);
    this.deps.log.info('connected to proxy server', {
      address: this.address,
      serverID: serverId,
      serverCount,
    });
    const random = this.deps.random ?? Math.random;
    // Per stream, so that a new stream logs its first unknown packet again.
    this.unknown = undefined;
    link.stream.attach({
      packet: (packet: DecodedPacket) => {
        this.deps.metrics.packet('from_server', packet.type);
        dispatchPacket(HANDLERS, this, packet);
      },
      malformed: (err) => {
        this.deps.log.warn('malformed packet from server; reconnecting', {
          serverID: serverId,
          reason: err.message,
        });
        link.stream.abort(`malformed packet: ${err.message}`);
      },
      drain: () => this.table.streamDrained(),
      end: (end: StreamEnd) => {
        if (this.current !== link) return;
        this.current = null;
        const reason = streamEndReason(end, '');
        this.unclaim(reason);
        link.close();
        this.deps.log.info('proxy server connection ended', { serverID: serverId, reason });
        this.actor.send({ type: 'LINK_DOWN', reason, jitter: random() });
      },
    });
  }

  // ------------------------------------------------------------------- PacketReceiver
  get log(): ActorLogger {
    return this.deps.log;
  }

  logFields(): LogFields {
    return { serverID: this.claimed ?? '' };
  }

  unknownPackets(): UnknownPacketNotice {
    return (this.unknown ??= new UnknownPacketNotice(this.deps.log, this.logFields()));
  }

  // ------------------------------------------------------------------- from the server
  onDialRequest(p: Extract<DecodedPacket, { type: 'DIAL_REQ' }>): void {
    // Every DIAL_REQ is a dial of its own, even one whose random a pending dial already has: the
    // reference agent keys nothing by random and dials each request, answering each with its own
    // DIAL_RSP, and a server counts on one answer per request (ours answers the one its dial is no
    // longer waiting for with CLOSE_REQ). Refusing the second with an error DIAL_RSP would instead
    // fail the first at a server, which matches DIAL_RSP to its dial by random alone. What random
    // still selects is DIAL_CLS: it cancels every dial pending under it.
    const connectID = ++this.nextConnectID;
    const endpoint = new EndpointConnection(connectID, p.random, p.address, p.protocol, this, {
      host: this.deps.host,
      log: this.deps.log,
      metrics: this.deps.metrics,
      now: this.deps.now,
      events: this.deps.events,
      serverId: this.claimed ?? '',
      ...(this.deps.policy ? { policy: this.deps.policy } : {}),
      ...(this.deps.endpointDialTimeoutMs !== undefined
        ? { dialTimeoutMs: this.deps.endpointDialTimeoutMs }
        : {}),
    });
    this.table.addDial(endpoint);
    endpoint.start();
  }

  onData(connectID: bigint, data: Buffer): void {
    const endpoint = this.table.connection(connectID);
    if (endpoint) endpoint.onServerData(data);
    else if (connectID !== 0n) this.send(packets.closeResponse(connectID, 'unrecognized connectID'));
  }

  onCloseRequest(connectID: bigint): void {
    const endpoint = this.table.connection(connectID);
    if (endpoint) endpoint.onCloseRequest();
    else this.send(packets.closeResponse(connectID, 'Unknown connectID'));
  }

  /** Better than the reference, which ignores DIAL_CLS: stop the dials the server no longer wants. */
  onDialClose(random: bigint): void {
    for (const endpoint of [...this.table.dialsFor(random)]) endpoint.cancelDial();
  }

  // ------------------------------------------------------------------- EndpointLink
  send(packet: Packet): boolean {
    const link = this.current;
    if (!link) return true;
    this.deps.metrics.packet('to_server', packet.type);
    return link.stream.send(packet);
  }

  get credits(): boolean {
    return this.current?.credits ?? false;
  }

  private releaseAll(reason: string): void {
    this.table.releaseAll(reason);
  }

  private closeCurrent(): void {
    this.generation++;
    const link = this.current;
    if (!link) return;
    this.current = null;
    this.unclaim('agent-shutdown');
    link.close();
  }

  private unclaim(reason = 'stream-ended'): void {
    if (this.claimed === null) return;
    this.deps.metrics.serverConnections(-1);
    this.deps.release(this, this.claimed);
    this.deps.events.serverDisconnected({ serverId: this.claimed, reason });
    this.claimed = null;
  }
}
