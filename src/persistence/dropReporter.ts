import type { DropReason, EventLogMetrics } from './metrics';
import type { EventLogLogger } from './types';

/** One warning per interval is enough to alert a human without flooding the log during an outage. */
const WARN_INTERVAL_MS = 10_000;

export type DropReporter = (reason: DropReason, events: number) => void;

/** Every dropped event is counted in the metric at once and logged, throttled, never silently. */
export function dropReporter(metrics: EventLogMetrics, logger: EventLogLogger, now = Date.now): DropReporter {
  const unlogged = new Map<DropReason, number>();
  let lastWarn = -Infinity;
  return (reason, events) => {
    metrics.addDropped(reason, events);
    unlogged.set(reason, (unlogged.get(reason) ?? 0) + events);
    if (now() - lastWarn < WARN_INTERVAL_MS) return;
    lastWarn = now();
    logger.warn('lifecycle events dropped', { dropped: Object.fromEntries(unlogged) });
    unlogged.clear();
  };
}
