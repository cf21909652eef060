import { dialTarget } from '../../../src/actors/agent/dialTarget';

describe('dialTarget: what a DIAL_REQ may ask the agent to dial, refusals in Go wording', () => {
  it.each([
    ['10.0.0.5:10250', { host: '10.0.0.5', port: 10250 }],
    ['[::1]:80', { host: '::1', port: 80 }],
    ['node-1.example:443', { host: 'node-1.example', port: 443 }],
  ])('accepts %s', (address, expected) => {
    expect(dialTarget('tcp', address)).toEqual(expected);
  });

  it.each([
    ['', 'dial tcp: missing address'],
    [':80', 'dial tcp :80: missing address'],
    ['[]:80', 'dial tcp []:80: missing address'],
    [':0', 'dial tcp :0: missing address'],
    ['host', 'dial tcp: address host: missing port in address'],
    ['a:b:80', 'dial tcp: address a:b:80: too many colons in address'],
    ['h:99999', 'dial tcp: lookup tcp/99999: unknown port'],
    [`${'a'.repeat(300)}:80`, 'dial tcp: address of 303 bytes is longer than any host:port (at most 260)'],
  ])('refuses %j with %j', (address, error) => {
    expect(dialTarget('tcp', address)).toEqual({ error });
  });

  it('refuses any network but tcp, as Go names an unknown one', () => {
    expect(dialTarget('udp', '10.0.0.5:53')).toEqual({ error: 'dial udp: unknown network udp' });
    expect(dialTarget('', '10.0.0.5:53')).toEqual({ error: 'dial : unknown network ' });
  });
});
