/**
 * Upcasters turn stored events of older schema versions into the current shape before validation,
 * so old logs and old stream contents keep replaying without a migration.
 *
 * - v1 -> v2: `reason` was an open string (metric labels such as `no_agent`, `signal`, free text); v2
 *   takes it from a closed vocabulary. The same mapping the event factory applies to producers is
 *   applied here, so a v1 event reads exactly as if it had been written today.
 */
import { isEventType, withReason } from '../events';

export function upcast(stored: unknown): unknown {
  if (!isRecord(stored) || stored.v !== 1 || !isEventType(stored.type)) return stored;
  return { ...withReason(stored.type, stored), v: 2 };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
