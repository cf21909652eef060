/**
 * Checks that an unknown value (parsed JSON from a log or a NATS message) is a current-version
 * lifecycle event. Replay uses it to skip and report malformed records instead of crashing on them.
 */
import { CLOSE_INITIATORS, EVENT_SCHEMA_VERSION, FRONTEND_MODES } from './common';
import { EVENT_SCHEMA, isEventType, type FieldKind, type LifecycleEvent } from './lifecycleEvent';
import { isReason, isReasonedType } from './reasons';
import { ULID_PATTERN } from './ulid';

export type ValidationResult = { ok: true; event: LifecycleEvent } | { ok: false; problem: string };

const INT64 = /^-?\d{1,19}$/;
const IDENTIFIER_LISTS = ['host', 'ipv4', 'ipv6', 'cidr'] as const;

export function validateEvent(value: unknown): ValidationResult {
  if (!isRecord(value)) return fail('not an object');
  if (value.v !== EVENT_SCHEMA_VERSION) return fail(`unsupported version ${String(value.v)}`);
  if (typeof value.id !== 'string' || !ULID_PATTERN.test(value.id)) return fail('id is not a ULID');
  if (!isEventType(value.type)) return fail(`unknown type ${String(value.type)}`);
  if (typeof value.time !== 'string' || Number.isNaN(Date.parse(value.time))) return fail('bad time');
  const fields = EVENT_SCHEMA[value.type].fields as Readonly<Record<string, string>>;
  for (const [name, spec] of Object.entries(fields)) {
    const optional = spec.endsWith('?');
    const kind = (optional ? spec.slice(0, -1) : spec) as FieldKind;
    const field = value[name];
    if (field === undefined) {
      if (optional) continue;
      return fail(`${value.type}: missing ${name}`);
    }
    if (kind === 'reason') {
      if (!(isReasonedType(value.type) && isReason(value.type, field)))
        return fail(`${value.type}: reason ${JSON.stringify(field)} is not in its documented set`);
    } else if (!matches(kind, field)) return fail(`${value.type}: ${name} is not a valid ${kind}`);
  }
  return { ok: true, event: value as unknown as LifecycleEvent };
}

function matches(kind: FieldKind, value: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'int64':
      return typeof value === 'string' && INT64.test(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'mode':
      return FRONTEND_MODES.includes(value as never);
    case 'closedBy':
      return CLOSE_INITIATORS.includes(value as never);
    case 'identifiers':
      return isIdentifiers(value);
    case 'reason': // checked against the event type by the caller
      return typeof value === 'string';
    default: {
      const _exhaustive: never = kind;
      return _exhaustive;
    }
  }
}

function isIdentifiers(value: unknown): boolean {
  if (!isRecord(value)) return false;
  for (const key of IDENTIFIER_LISTS) {
    const list = value[key];
    if (list !== undefined && !(Array.isArray(list) && list.every((s) => typeof s === 'string')))
      return false;
  }
  return value.defaultRoute === undefined || typeof value.defaultRoute === 'boolean';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(problem: string): ValidationResult {
  return { ok: false, problem };
}
