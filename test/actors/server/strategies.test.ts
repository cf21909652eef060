import {
  NO_IDENTIFIERS,
  parseAgentIdentifiers,
  type AgentIdentifiers,
} from '../../../src/protocol/agentIdentifiers';
import { hostOfAddress, pickByStrategies, pickWith, usableFor } from '../../../src/actors/server/strategies';

interface Fake {
  name: string;
  draining: boolean;
  identifiers: AgentIdentifiers;
}
const agent = (name: string, ids: string, draining = false): Fake => ({
  name,
  draining,
  identifiers: ids ? parseAgentIdentifiers(ids) : NO_IDENTIFIERS,
});
const first = (): number => 0;
const last = (): number => 0.999;

describe('agent identifiers', () => {
  it('parses every key, repeated keys, and IPv6 in brackets or not', () => {
    const ids = parseAgentIdentifiers(
      'host=node1&ipv4=10.0.0.5&ipv4=10.0.0.6&ipv6=[fd00::5]&ipv6=fd00::6&cidr=10.0.0.0/24&default-route=true',
    );
    expect(ids).toEqual({
      host: ['node1'],
      ipv4: ['10.0.0.5', '10.0.0.6'],
      ipv6: ['fd00::5', 'fd00::6'],
      cidr: ['10.0.0.0/24'],
      defaultRoute: true,
      unknown: [],
    });
  });
  it('keeps unknown keys aside for the log', () => {
    expect(parseAgentIdentifiers('zone=a').unknown).toEqual(['zone']);
  });
});

describe('hostOfAddress', () => {
  it.each([
    ['10.0.0.5:10250', '10.0.0.5'],
    ['node1:10250', 'node1'],
    ['[::1]:80', '::1'],
    ['[fd00::5]:10250', 'fd00::5'],
    ['node1', 'node1'],
    ['fd00::5', 'fd00::5'],
  ])('%s -> %s', (address, host) => expect(hostOfAddress(address)).toBe(host));
});

describe('strategies', () => {
  const a = agent('a', 'host=node-a&ipv4=10.0.0.1');
  const b = agent('b', 'host=node-b&ipv6=fd00::2&default-route=true');
  const drainingA = agent('a', 'host=node-a&ipv4=10.0.0.1', true);
  const drainingB = agent('b2', 'host=node-a&ipv4=10.0.0.1&default-route=true', true);

  it('default: any agent, at random', () => {
    expect(pickWith('default', 'x:1', [a, b], first)?.name).toBe('a');
    expect(pickWith('default', 'x:1', [a, b], last)?.name).toBe('b');
  });

  it('default: a draining agent only when nothing else is left', () => {
    expect(pickWith('default', 'x:1', [drainingA, b], first)?.name).toBe('b');
    expect(pickWith('default', 'x:1', [drainingA], first)?.name).toBe('a');
  });

  it('destHost: the agent whose host, ipv4 or ipv6 is the destination host', () => {
    expect(pickWith('destHost', 'node-b:10250', [a, b], first)?.name).toBe('b');
    expect(pickWith('destHost', '10.0.0.1:10250', [a, b], last)?.name).toBe('a');
    expect(pickWith('destHost', '[fd00::2]:10250', [a, b], first)?.name).toBe('b');
  });

  it('destHost: prefers a non-draining match, uses a draining one if it is the only match', () => {
    const other = agent('c', 'host=node-a');
    expect(pickWith('destHost', 'node-a:1', [drainingA, other], first)?.name).toBe('c');
    expect(pickWith('destHost', 'node-a:1', [drainingA, b], first)?.name).toBe('a');
  });

  it('destHost: nothing for an address no agent matches', () => {
    expect(pickWith('destHost', '192.168.9.9:1', [a, b], first)).toBeUndefined();
  });

  it('defaultRoute: only agents that said default-route=true; draining ones last', () => {
    expect(pickWith('defaultRoute', 'x:1', [a, b], first)?.name).toBe('b');
    expect(pickWith('defaultRoute', 'x:1', [a], first)).toBeUndefined();
    expect(pickWith('defaultRoute', 'x:1', [drainingB, b], first)?.name).toBe('b');
  });

  it('tries the strategies in order, and finds nothing when none matches', () => {
    expect(pickByStrategies(['destHost', 'defaultRoute'], 'node-a:1', [a, b], first)?.name).toBe('a');
    expect(pickByStrategies(['destHost', 'defaultRoute'], 'elsewhere:1', [a, b], first)?.name).toBe('b');
    expect(pickByStrategies(['destHost', 'defaultRoute'], 'elsewhere:1', [a], first)).toBeUndefined();
  });

  it('skips a silent agent in every strategy, even when it is the only match', () => {
    const silentA = { ...agent('a', 'host=node-a&ipv4=10.0.0.1'), silent: true };
    const heardC = { ...agent('c', 'host=node-c'), silent: false };
    expect(pickByStrategies(['destHost', 'default'], 'node-a:1', [silentA, heardC], first)?.name).toBe('c');
    expect(pickByStrategies(['default'], 'x:1', [silentA, heardC], first)?.name).toBe('c');
    expect(pickByStrategies(['destHost'], 'node-a:1', [silentA, heardC], first)).toBeUndefined();
    expect(pickByStrategies(['default'], 'x:1', [silentA], first)).toBeUndefined();
  });

  it('readiness follows the first strategy', () => {
    expect(usableFor('default', a)).toBe(true);
    expect(usableFor('destHost', agent('n', ''))).toBe(false);
    expect(usableFor('destHost', a)).toBe(true);
    expect(usableFor('defaultRoute', a)).toBe(false);
    expect(usableFor('defaultRoute', b)).toBe(true);
  });
});
