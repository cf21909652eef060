import { parseAllowedDestination } from '../../../src/config/addresses';
import { DestinationPolicy, notAllowedError } from '../../../src/actors/agent/destinationPolicy';

const policy = (...entries: string[]): DestinationPolicy =>
  new DestinationPolicy(
    entries.map((e) => {
      const r = parseAllowedDestination(e);
      if (!r.ok) throw new Error(r.reason);
      return r.value;
    }),
  );

describe('DestinationPolicy', () => {
  const kubeletOnly = policy('10.0.0.5:10250', '10.1.0.0/16:10250-10255', '[fd00::/8]:10250');

  it.each([
    ['10.0.0.5', 10250, true],
    ['10.0.0.5', 22, false], // right host, wrong port
    ['10.0.0.6', 10250, false], // a /32 is one host
    ['10.1.200.7', 10255, true],
    ['10.1.200.7', 10256, false],
    ['10.2.0.1', 10250, false],
    ['fd12:3456::1', 10250, true],
    ['fe80::1', 10250, false],
    ['::ffff:10.0.0.5', 10250, true], // an IPv4-mapped address is the IPv4 address
    ['not-an-ip', 10250, false],
  ])('%s:%d allowed: %s', (ip, port, allowed) => {
    expect(kubeletOnly.allows(ip, port)).toBe(allowed);
  });

  it('a rule without ports allows every port; /0 allows every address of its family', () => {
    expect(policy('192.168.0.0/24').allows('192.168.0.99', 1)).toBe(true);
    expect(policy('0.0.0.0/0').allows('8.8.8.8', 53)).toBe(true);
    expect(policy('0.0.0.0/0').allows('::1', 53)).toBe(false);
  });

  it('says why in Go shape', () => {
    expect(notAllowedError('10.0.0.9', 22)).toBe(
      "dial tcp 10.0.0.9:22: destination not allowed by this agent's --allowed-destinations",
    );
    expect(notAllowedError('fd00::1', 22)).toMatch(/^dial tcp \[fd00::1\]:22: /);
  });
});
