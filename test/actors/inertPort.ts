/** A connection machine port whose effects do nothing, for tests that drive the actor by hand. */
import type { ConnectionPort } from '../../src/actors/machines';
import { connectionEffects } from '../../src/machines/connection.machine';

export function inertConnectionPort(overrides: Partial<ConnectionPort> = {}): ConnectionPort {
  const noop = (): void => {};
  const port = Object.fromEntries(Object.keys(connectionEffects).map((name) => [name, noop]));
  return { ...(port as unknown as ConnectionPort), ...overrides };
}
