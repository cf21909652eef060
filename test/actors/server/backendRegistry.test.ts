import type { AgentTunnel } from '../../../src/actors/server/agentTunnel';
import { BackendRegistry } from '../../../src/actors/server/backendRegistry';
import { NO_IDENTIFIERS } from '../../../src/protocol/agentIdentifiers';

/** The members of a tunnel the registry reads; `silent` is what liveness says of its agent. */
interface Fake {
  agentId: string;
  streamId: string;
  draining: boolean;
  silent: boolean;
  identifiers: typeof NO_IDENTIFIERS;
}
const tunnel = (agentId: string, streamId: string, silent = false): Fake => ({
  agentId,
  streamId,
  draining: false,
  silent,
  identifiers: NO_IDENTIFIERS,
});
const asTunnel = (f: Fake): AgentTunnel => f as unknown as AgentTunnel;

describe('BackendRegistry with silent agents', () => {
  it('serves an agent id by its oldest stream that is heard from', () => {
    const registry = new BackendRegistry(['default'], () => 0);
    const old = tunnel('node', 'node#1', true);
    const fresh = tunnel('node', 'node#2');
    registry.add(asTunnel(old));
    registry.add(asTunnel(fresh));
    expect(registry.representatives().map((t) => t.streamId)).toEqual(['node#2']);
    expect(registry.pick('x:1')?.streamId).toBe('node#2');
    old.silent = false;
    expect(registry.pick('x:1')?.streamId).toBe('node#1');
  });

  it('is not ready, and picks nothing, when every agent is silent', () => {
    const registry = new BackendRegistry(['default'], () => 0);
    const only = tunnel('node', 'node#1', true);
    registry.add(asTunnel(only));
    expect(registry.readyForFirstStrategy()).toBe(false);
    expect(registry.pick('x:1')).toBeUndefined();
    only.silent = false;
    expect(registry.readyForFirstStrategy()).toBe(true);
  });
});
