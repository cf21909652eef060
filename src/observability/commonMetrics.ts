/**
 * Metrics and label values shared by server and agent, mirroring the reference's
 * konnectivity-client/pkg/common/metrics so that dashboards built for the Go binaries work unchanged.
 */
import { registerProcessMetrics } from './processMetrics';
import { Histogram, Registry } from './promClient';
import { CountingCounter, TrackingGauge, type CounterChild } from './countingMetrics';
import type { PacketTypeName } from '../protocol/packet';

export const NAMESPACE = 'konnectivity_network_proxy';

/** Our own metrics use a prefix no reference metric can have, so nobody mistakes them for compatible ones. */
export const TS_PREFIX = 'konnectivity_ts';

export interface MetricsOptions {
  /** Also export process_* and nodejs_* metrics, as the Go binaries export process_* and go_*. */
  readonly processMetrics?: boolean;
}

/** The four tunnel segments, named from the server's point of view (the agent uses the same values). */
export const SEGMENTS = ['from_client', 'to_client', 'from_agent', 'to_agent'] as const;
export type Segment = (typeof SEGMENTS)[number];

/** gRPC status code names exactly as Go's `codes.Code.String()` prints them, indexed by code number. */
export const GRPC_CODE_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
] as const;
export type GrpcCodeName = (typeof GRPC_CODE_NAMES)[number];

/** Go prints an out-of-range code as `Code(N)`; errors that carry no gRPC status count as Unknown. */
export function grpcCodeName(code: number | GrpcCodeName | undefined): string {
  if (typeof code === 'string') return code;
  if (code === undefined) return 'Unknown';
  return GRPC_CODE_NAMES[code] ?? `Code(${code})`;
}

/** The packet_type label when a stream error happened without a packet in hand (reference: "Unknown"). */
export const NO_PACKET = 'Unknown';

export interface StreamMetrics {
  packet(segment: Segment, type: PacketTypeName): void;
  /** `code` is the gRPC status of the failure; omit `type` when the error was not about a specific packet. */
  streamError(segment: Segment, code: number | GrpcCodeName | undefined, type?: PacketTypeName): void;
}

export function registerStreamMetrics(registry: Registry, subsystem: string): StreamMetrics {
  // Counted for every packet: the counting kind keeps a child per (segment, type), updated by an addition.
  const packets = new CountingCounter({
    name: `${NAMESPACE}_${subsystem}_stream_packets_total`,
    help: 'Count of packets processed, by segment and packet type (example: from_client, DIAL_REQ)',
    labelNames: ['segment', 'packet_type'] as const,
    registry,
  });
  const errors = new CountingCounter({
    name: `${NAMESPACE}_${subsystem}_stream_errors_total`,
    help: 'Count of gRPC stream errors, by segment, grpc Code, packet type. (example: from_agent, Code.Unavailable, DIAL_RSP)',
    labelNames: ['segment', 'code', 'packet_type'] as const,
    registry,
  });
  const children = new Map<Segment, Map<PacketTypeName, CounterChild>>();
  return {
    packet: (segment, type) => {
      let bySegment = children.get(segment);
      if (bySegment === undefined)
        children.set(segment, (bySegment = new Map<PacketTypeName, CounterChild>()));
      let child = bySegment.get(type);
      if (child === undefined) bySegment.set(type, (child = packets.child({ segment, packet_type: type })));
      child.inc();
    },
    streamError: (segment, code, type) =>
      errors.inc({ segment, code: grpcCodeName(code), packet_type: type ?? NO_PACKET }),
  };
}

/** Live actors by kind: a leak shows up as a kind that only grows. */
export interface ActorMetrics {
  actorStarted(kind: string): void;
  actorStopped(kind: string): void;
}

export function registerActorMetrics(registry: Registry): ActorMetrics {
  // Two actors start and stop per dial in each process: the counting kind makes that an addition.
  const actors = new TrackingGauge({
    name: `${TS_PREFIX}_actors`,
    help:
      'konnectivity-ts only (not in the Go reference): number of live actors by kind (dial, connection, ' +
      'agent tunnel, ...). Every connection is owned by an actor, so a kind that only grows is a leak.',
    labelNames: ['kind'] as const,
    registry,
  });
  return {
    actorStarted: (kind) => actors.inc({ kind }),
    actorStopped: (kind) => actors.dec({ kind }),
  };
}

/** What the server's and the agent's metrics share: the registry, stream packet/error counts, live actors. */
export abstract class ProcessMetrics implements StreamMetrics, ActorMetrics {
  readonly registry = new Registry();
  private readonly stream: StreamMetrics;
  private readonly actors: ActorMetrics;
  private readonly dialDuration: Histogram;

  /** `dialBuckets`: the reference's buckets for `<subsystem>_dial_duration_seconds`, which differ by side. */
  protected constructor(
    subsystem: 'server' | 'agent',
    options: MetricsOptions,
    dialBuckets: readonly number[],
  ) {
    this.stream = registerStreamMetrics(this.registry, subsystem);
    this.actors = registerActorMetrics(this.registry);
    if (options.processMetrics) registerProcessMetrics(this.registry);
    this.dialDuration = new Histogram({
      name: `${NAMESPACE}_${subsystem}_dial_duration_seconds`,
      help: 'Latency of dial to the remote endpoint in seconds',
      buckets: [...dialBuckets],
      registers: [this.registry],
    });
  }

  /**
   * Successful dials only, as upstream (timeouts would drown the latency signal): on the server from
   * DIAL_REQ sent to the agent until its DIAL_RSP, on the agent the connect to the endpoint.
   */
  observeDialDuration(seconds: number): void {
    this.dialDuration.observe(seconds);
  }

  packet(segment: Segment, type: PacketTypeName): void {
    this.stream.packet(segment, type);
  }

  streamError(segment: Segment, code: number | GrpcCodeName | undefined, type?: PacketTypeName): void {
    this.stream.streamError(segment, code, type);
  }

  actorStarted(kind: string): void {
    this.actors.actorStarted(kind);
  }

  actorStopped(kind: string): void {
    this.actors.actorStopped(kind);
  }
}
