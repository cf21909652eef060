/**
 * Hundreds of agents in the test process: each is its own gRPC channel (its own TLS + HTTP/2 connection, as
 * a real agent has) with one `/AgentService/Connect` stream and `host=<id>` as its identifier. Starting
 * hundreds of agent processes is not feasible on a 2-core machine; the server cannot tell these streams from
 * real agents.
 *
 * Each swarm agent plays the agent's side of the protocol without a socket behind it: DIAL_REQ gets a
 * DIAL_RSP with the next connectID of its stream, DATA is echoed back prefixed with the agent's id (so the
 * frontend sees which agent carried its dial), CLOSE_REQ gets CLOSE_RSP. When its stream ends it dials
 * again, as an agent does after a server restart.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'fs';
import { MalformedPacketError } from '../../src/protocol/errors';
import { packets, type Packet } from '../../src/protocol/packet';
import {
  CONNECT_PATH,
  deserializeIncoming,
  serializePacket,
  type Incoming,
} from '../../src/transport/grpcServices';
import type { TlsDir } from '../helpers/tls';

/**
 * Pause before a swarm agent dials again after losing its stream, plus up to as much again of jitter: short,
 * so a restarted server sees its agents within seconds; spread, so 500 agents do not all dial in one tick
 * forever (the first reconnect wave still arrives at once, which is what the burst test wants).
 */
const RECONNECT_DELAY_MS = 250;

export class SwarmAgent {
  /** Addresses of the DIAL_REQs this agent received, in order. */
  readonly dials: string[] = [];
  private client: grpc.Client | null = null;
  private call: grpc.ClientDuplexStream<Packet, Incoming> | null = null;
  private nextConnectID = 0n;
  private up = false;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  /** Resolves when the current call has its status (at once when there is none). */
  private callDone: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    private readonly target: string,
    private readonly ca: Buffer,
  ) {}

  /** Whether the server has sent its serverid header on the current stream. */
  get connected(): boolean {
    return this.up;
  }

  connect(): void {
    if (this.stopped) return;
    this.nextConnectID = 0n;
    const client = new grpc.Client(this.target, grpc.credentials.createSsl(this.ca), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.ssl_target_name_override': 'localhost',
      'grpc.default_authority': 'localhost',
    });
    const md = new grpc.Metadata();
    md.set('agentid', this.id);
    md.set('agentidentifiers', `host=${this.id}`);
    const call = client.makeBidiStreamRequest<Packet, Incoming>(
      CONNECT_PATH,
      serializePacket,
      deserializeIncoming,
      md,
      {},
    );
    this.client = client;
    this.call = call;
    this.callDone = new Promise((resolve) => call.once('status', () => resolve()));
    call.on('metadata', (headers: grpc.Metadata) => {
      if (headers.get('serverid').length === 1) this.up = true;
    });
    call.on('data', (msg: Incoming) => {
      if (!(msg instanceof MalformedPacketError) && msg.type !== 'UNKNOWN') this.onPacket(call, msg);
    });
    call.on('error', () => undefined);
    call.on('status', () => {
      if (this.call !== call) return;
      this.up = false;
      this.call = null;
      client.close();
      if (!this.stopped)
        this.retry = setTimeout(() => this.connect(), RECONNECT_DELAY_MS * (1 + Math.random()));
    });
  }

  /** Stops dialing again, cancels the stream and resolves once it has ended. */
  async close(): Promise<void> {
    this.stopped = true;
    this.up = false;
    clearTimeout(this.retry);
    this.call?.cancel();
    await this.callDone;
    this.client?.close();
  }

  private onPacket(call: grpc.ClientDuplexStream<Packet, Incoming>, p: Packet): void {
    switch (p.type) {
      case 'DIAL_REQ':
        this.dials.push(p.address);
        call.write(packets.dialResponse(p.random, ++this.nextConnectID));
        return;
      case 'DATA':
        call.write(packets.data(p.connectID, Buffer.concat([Buffer.from(`${this.id}:`), p.data])));
        return;
      case 'CLOSE_REQ':
        call.write(packets.closeResponse(p.connectID));
        return;
      default:
        return;
    }
  }
}

export class AgentSwarm {
  readonly agents: SwarmAgent[];

  constructor(tls: TlsDir, port: number, size: number, prefix: string) {
    const ca = readFileSync(tls.caCert);
    this.agents = Array.from(
      { length: size },
      (_, i) => new SwarmAgent(`${prefix}-${i}`, `localhost:${port}`, ca),
    );
  }

  /** Starts every agent at once: the burst a fleet makes when it comes up together. */
  connectAll(): void {
    for (const agent of this.agents) agent.connect();
  }

  get connectedCount(): number {
    return this.agents.filter((a) => a.connected).length;
  }

  async close(): Promise<void> {
    await Promise.all(this.agents.map((agent) => agent.close()));
  }
}
