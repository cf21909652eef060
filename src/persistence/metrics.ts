/**
 * The few numbers an operator needs to trust the audit trail: how far behind it is, how long an event
 * takes to become durable, and how many were dropped (which must be zero in a healthy system).
 */
import type { Registry } from 'prom-client';
import { buildMetrics, counter, gauge, histogram } from '../observability/metricTable';

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

const PREFIX = 'konnectivity_ts_event_log';
/** From a healthy sub-millisecond write up to a long NATS outage drained from the outbox. */
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300];

const EVENT_LOG_METRICS = {
  backlog: gauge('backlog', 'Lifecycle events appended but not yet durable or published', ['backend']),
  latency: histogram(
    'publish_latency_seconds',
    'Time from append until the event was fsynced (file) or acked by JetStream (nats)',
    LATENCY_BUCKETS,
    ['backend'],
  ),
  published: counter('published_total', 'Lifecycle events made durable (file) or acked by JetStream (nats)', [
    'backend',
  ]),
  dropped: counter('dropped_total', 'Lifecycle events lost, by reason; anything but zero needs attention', [
    'backend',
    'reason',
  ]),
  malformed: counter(
    'malformed_records_total',
    'Stored records skipped on replay because they were truncated, corrupt or invalid',
    ['backend'],
  ),
};

/** Two logs in one process (or a reopened one) share the registry's metrics instead of throwing. */
const built = new WeakMap<Registry, ReturnType<typeof buildEventLogMetrics>>();

function buildEventLogMetrics(registry: Registry) {
  return buildMetrics(registry, PREFIX, EVENT_LOG_METRICS);
}

export function promEventLogMetrics(registry: Registry, backend: EventLogBackend): EventLogMetrics {
  let m = built.get(registry);
  if (m === undefined) built.set(registry, (m = buildEventLogMetrics(registry)));
  const labels = { backend };
  // Updated per written batch (the histogram per event): children looked up once per log.
  const backlog = m.backlog.child(labels);
  const published = m.published.child(labels);
  const malformed = m.malformed.child(labels);
  const { latency, dropped } = m;
  return {
    setBacklog: (n) => backlog.set(n),
    observePublishLatency: (s) => latency.observe(labels, s),
    addPublished: (n) => published.inc(n),
    addDropped: (reason, n) => dropped.inc({ backend, reason }, n),
    addMalformed: (n) => malformed.inc(n),
  };
}
