/**
 * Upcasters turn stored events of older schema versions into the current shape before validation.
 * Version 1 is the only version so far; a v2 would add `if (e.v === 1) e = v1ToV2(e)` here, so old
 * logs and old stream contents keep replaying without a migration.
 */
export function upcast(stored: unknown): unknown {
  return stored;
}
