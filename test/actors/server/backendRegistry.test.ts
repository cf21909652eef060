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

const withIds = (agentId: string, streamId: string, ids: Partial<typeof NO_IDENTIFIERS>): Fake => ({
  ...tunnel(agentId, streamId),
  identifiers: { ...NO_IDENTIFIERS, ...ids },
});

/** A sequence of "random" numbers, repeated. */
function sequence(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('BackendRegistry counts and indexes', () => {
  it('counts the agents each strategy could use as streams come and go', () => {
    const registry = new BackendRegistry(['destHost', 'default']);
    const a1 = withIds('a', 'a#1', { host: ['node-a'], defaultRoute: true });
    const a2 = withIds('a', 'a#2', { host: ['node-a'], defaultRoute: true });
    const b = withIds('b', 'b#1', {});
    const c = withIds('c', 'c#1', { ipv4: ['10.0.0.3'] });
    for (const t of [a1, a2, b, c]) registry.add(asTunnel(t));
    const counts = (): number[] =>
      (['default', 'destHost', 'defaultRoute'] as const).map((s) => registry.usableCount(s));
    expect(registry.agentCount).toBe(3);
    expect(counts()).toEqual([3, 2, 1]);
    registry.remove(asTunnel(a1));
    expect(counts()).toEqual([3, 2, 1]);
    registry.remove(asTunnel(a2));
    registry.remove(asTunnel(c));
    expect(registry.agentCount).toBe(1);
    expect(counts()).toEqual([1, 0, 0]);
    registry.remove(asTunnel(b));
    registry.remove(asTunnel(b));
    expect(counts()).toEqual([0, 0, 0]);
  });

  it('routes destHost by every announced name and address, until no stream of the agent announces it', () => {
    const registry = new BackendRegistry(['destHost']);
    const first = withIds('a', 'a#1', { host: ['node-a'], ipv6: ['fd00::1'] });
    const second = withIds('a', 'a#2', { host: ['node-a'] });
    registry.add(asTunnel(first));
    registry.add(asTunnel(second));
    registry.add(asTunnel(withIds('b', 'b#1', { ipv4: ['10.0.0.2'] })));
    expect(registry.pick('node-a:10250')?.streamId).toBe('a#1');
    expect(registry.pick('[fd00::1]:10250')?.streamId).toBe('a#1');
    expect(registry.pick('10.0.0.2:10250')?.streamId).toBe('b#1');
    expect(registry.pick('10.0.0.9:10250')).toBeUndefined();
    registry.remove(asTunnel(first));
    expect(registry.pick('node-a:10250')?.streamId).toBe('a#2');
    // Only the removed stream announced the IPv6 address.
    expect(registry.pick('[fd00::1]:10250')).toBeUndefined();
  });

  it('picks any agent by default, skipping silent and draining ones while others are left', () => {
    const fakes = ['a', 'b', 'c', 'd'].map((id) => tunnel(id, `${id}#1`));
    const registry = new BackendRegistry(['default'], sequence([0, 0.3, 0.6, 0.9]));
    for (const f of fakes) registry.add(asTunnel(f));
    const picked = new Set(Array.from({ length: 8 }, () => registry.pick('x:1')?.agentId));
    expect([...picked].sort()).toEqual(['a', 'b', 'c', 'd']);

    fakes[0]!.draining = true;
    fakes[1]!.silent = true;
    fakes[2]!.draining = true;
    for (let i = 0; i < 8; i++) expect(registry.pick('x:1')?.agentId).toBe('d');
    // Only draining and silent agents: a draining one that is heard from, never a silent one.
    fakes[3]!.draining = true;
    for (let i = 0; i < 8; i++) expect(['a', 'c', 'd']).toContain(registry.pick('x:1')?.agentId);
    fakes[0]!.silent = fakes[2]!.silent = fakes[3]!.silent = true;
    expect(registry.pick('x:1')).toBeUndefined();
  });

  it('does not walk every agent to pick one, however many are connected', () => {
    let reads = 0;
    const registry = new BackendRegistry(['default']);
    for (let i = 0; i < 10_000; i++) {
      const f = tunnel(`agent-${i}`, `agent-${i}#1`);
      registry.add(
        asTunnel(
          Object.defineProperty(f, 'silent', {
            get: () => {
              reads++;
              return false;
            },
          }),
        ),
      );
    }
    reads = 0;
    for (let i = 0; i < 100; i++) expect(registry.pick('x:1')).toBeDefined();
    // One or two reads per pick (finding the representative, then checking it), not ten thousand.
    expect(reads).toBeLessThanOrEqual(100 * 2);
  });
});
