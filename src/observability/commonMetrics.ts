/**
 * Metrics and label values shared by server and agent, mirroring the reference's
 * konnectivity-client/pkg/common/metrics so that dashboards built for the Go binaries work unchanged.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
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
  const packets = new Counter({
    name: `${NAMESPACE}_${subsystem}_stream_packets_total`,
    help: 'Count of packets processed, by segment and packet type (example: from_client, DIAL_REQ)',
    labelNames: ['segment', 'packet_type'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: `${NAMESPACE}_${subsystem}_stream_errors_total`,
    help: 'Count of gRPC stream errors, by segment, grpc Code, packet type. (example: from_agent, Code.Unavailable, DIAL_RSP)',
    labelNames: ['segment', 'code', 'packet_type'] as const,
    registers: [registry],
  });
  // Counted for every DATA packet: keep the labelled child per (segment, type) instead of hashing labels each time.
  const children = new Map<string, { inc(): void }>();
  return {
    packet: (segment, type) => {
      const key = `${segment} ${type}`;
      let child = children.get(key);
      if (child === undefined) {
        child = packets.labels({ segment, packet_type: type });
        children.set(key, child);
      }
      child.inc();
    },
    streamError: (segment, code, type) =>
      errors.inc({ segment, code: grpcCodeName(code), packet_type: type ?? NO_PACKET }),
  };
}

/** Builds metrics named `<prefix>_<name>` in one registry, so metric classes stay declarative. */
export function metricFactory(registry: Registry, prefix: string) {
  return {
    counter: <L extends string = never>(
      name: string,
      help: string,
      labelNames: readonly L[] = [],
    ): Counter<L> => new Counter({ name: `${prefix}_${name}`, help, labelNames, registers: [registry] }),
    gauge: <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> =>
      new Gauge({ name: `${prefix}_${name}`, help, labelNames, registers: [registry] }),
    histogram: <L extends string = never>(
      name: string,
      help: string,
      buckets: readonly number[],
      labelNames: readonly L[] = [],
    ): Histogram<L> =>
      new Histogram({
        name: `${prefix}_${name}`,
        help,
        buckets: [...buckets],
        labelNames,
        registers: [registry],
      }),
  };
}

/** Live actors by kind: a leak shows up as a kind that only grows. */
export interface ActorMetrics {
  actorStarted(kind: string): void;
  actorStopped(kind: string): void;
}

export function registerActorMetrics(registry: Registry): ActorMetrics {
  const actors = new Gauge({
    name: `${TS_PREFIX}_actors`,
    help:
      'konnectivity-ts only (not in the Go reference): number of live actors by kind (dial, connection, ' +
      'agent tunnel, ...). Every connection is owned by an actor, so a kind that only grows is a leak.',
    labelNames: ['kind'] as const,
    registers: [registry],
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

  protected constructor(subsystem: 'server' | 'agent', options: MetricsOptions) {
    this.stream = registerStreamMetrics(this.registry, subsystem);
    this.actors = registerActorMetrics(this.registry);
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
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
