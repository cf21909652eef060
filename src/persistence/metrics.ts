/**
 * The few numbers an operator needs to trust the audit trail: how far behind it is, how long an event
 * takes to become durable, and how many were dropped (which must be zero in a healthy system).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type EventLogBackend = 'file' | 'nats';
/** `write-failed`: the disk refused the write (full, read-only) on every attempt. */
export type DropReason =
  'queue-full' | 'outbox-full' | 'closed' | 'unserializable' | 'internal' | 'write-failed';

export interface EventLogMetrics {
  /** Events appended but not yet durable (file) or not yet acked by JetStream (nats). */
  setBacklog(events: number): void;
  /** Seconds from `append` to fsync (file) or to the JetStream ack (nats). */
  observePublishLatency(seconds: number): void;
  addPublished(events: number): void;
  addDropped(reason: DropReason, events: number): void;
  addMalformed(records: number): void;
}

const PREFIX = 'konnectivity_ts_event_log_';
/** From a healthy sub-millisecond write up to a long NATS outage drained from the outbox. */
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300];

export function promEventLogMetrics(registry: Registry, backend: EventLogBackend): EventLogMetrics {
  const backlog = reuse(
    registry,
    `${PREFIX}backlog`,
    () =>
      new Gauge({
        name: `${PREFIX}backlog`,
        help: 'Lifecycle events appended but not yet durable or published',
        labelNames: ['backend'],
        registers: [registry],
      }),
  );
  const latency = reuse(
    registry,
    `${PREFIX}publish_latency_seconds`,
    () =>
      new Histogram({
        name: `${PREFIX}publish_latency_seconds`,
        help: 'Time from append until the event was fsynced (file) or acked by JetStream (nats)',
        labelNames: ['backend'],
        buckets: LATENCY_BUCKETS,
        registers: [registry],
      }),
  );
  const published = reuse(
    registry,
    `${PREFIX}published_total`,
    () =>
      new Counter({
        name: `${PREFIX}published_total`,
        help: 'Lifecycle events made durable (file) or acked by JetStream (nats)',
        labelNames: ['backend'],
        registers: [registry],
      }),
  );
  const dropped = reuse(
    registry,
    `${PREFIX}dropped_total`,
    () =>
      new Counter({
        name: `${PREFIX}dropped_total`,
        help: 'Lifecycle events lost, by reason; anything but zero needs attention',
        labelNames: ['backend', 'reason'],
        registers: [registry],
      }),
  );
  const malformed = reuse(
    registry,
    `${PREFIX}malformed_records_total`,
    () =>
      new Counter({
        name: `${PREFIX}malformed_records_total`,
        help: 'Stored records skipped on replay because they were truncated, corrupt or invalid',
        labelNames: ['backend'],
        registers: [registry],
      }),
  );
  const labels = { backend };
  return {
    setBacklog: (n) => backlog.set(labels, n),
    observePublishLatency: (s) => latency.observe(labels, s),
    addPublished: (n) => published.inc(labels, n),
    addDropped: (reason, n) => dropped.inc({ backend, reason }, n),
    addMalformed: (n) => malformed.inc(labels, n),
  };
}

/** Two logs in one process (or a reopened one) share the registry's metrics instead of throwing. */
function reuse<M>(registry: Registry, name: string, create: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create();
}
