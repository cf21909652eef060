import {
  goDialError,
  goTimeoutError,
  joinHostPort,
  splitHostPort,
} from '../../../src/actors/agent/goDialErrors';

const err = (code: string, extra: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(`${code} failure`), { code, ...extra });

describe('endpoint dial errors in Go wording (peers match substrings of these)', () => {
  it('connection refused names the resolved address', () => {
    expect(goDialError('localhost:1', err('ECONNREFUSED', { address: '127.0.0.1', port: 1 }))).toBe(
      'dial tcp 127.0.0.1:1: connect: connection refused',
    );
    expect(goDialError('[::1]:1', err('ECONNREFUSED', { address: '::1', port: 1 }))).toBe(
      'dial tcp [::1]:1: connect: connection refused',
    );
  });

  it('an unknown host is a lookup error ending in "no such host"', () => {
    expect(goDialError('nohost:80', err('ENOTFOUND', { hostname: 'nohost' }))).toMatch(
      /^dial tcp: lookup nohost( on [^:]+:53)?: no such host$/,
    );
  });

  it.each([
    ['ECONNRESET', 'connect: connection reset by peer'],
    ['EHOSTUNREACH', 'connect: no route to host'],
    ['ENETUNREACH', 'connect: network is unreachable'],
    ['EMFILE', 'socket: too many open files'],
    ['ETIMEDOUT', 'i/o timeout'],
  ])('%s -> %s', (code, text) => {
    expect(goDialError('10.0.0.5:10250', err(code))).toBe(`dial tcp 10.0.0.5:10250: ${text}`);
  });

  it('the agent-side dial timeout reads like Go’s DialTimeout', () => {
    expect(goTimeoutError('198.18.0.254:1234')).toBe('dial tcp 198.18.0.254:1234: i/o timeout');
  });

  it('bad addresses fail like net.SplitHostPort', () => {
    expect(splitHostPort('10.0.0.5:10250')).toEqual({ host: '10.0.0.5', port: 10250 });
    expect(splitHostPort('[fd00::1]:443')).toEqual({ host: 'fd00::1', port: 443 });
    expect(splitHostPort('nohost')).toEqual({ error: 'dial tcp: address nohost: missing port in address' });
    expect(splitHostPort('fd00::1:443')).toEqual({
      error: 'dial tcp: address fd00::1:443: too many colons in address',
    });
    expect(splitHostPort('h:http')).toEqual({ error: 'dial tcp: lookup tcp/http: unknown port' });
    expect(joinHostPort('fd00::1', 80)).toBe('[fd00::1]:80');
  });
});
