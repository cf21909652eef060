import { parseAllowedDestination, parseServerAddress } from '../../src/config/addresses';
import { checkAgentIdentifiers, parseAgentIdentifiersFlag } from '../../src/config/agentIdentifiers';
import { checkEventLog } from '../../src/config/eventLogFlags';
import { parseEventLogLocation } from '../../src/persistence/eventLogLocation';
import { checkLabelPairs, checkLabelSelector } from '../../src/config/labelSelector';
import { klogFlagSpecs } from '../../src/config/klogFlags';

describe('--allowed-destinations entries', () => {
  test.each([
    [
      '10.0.0.0/8:10250',
      { address: '10.0.0.0', family: 4, prefixLength: 8, ports: { from: 10250, to: 10250 } },
    ],
    ['192.168.1.5', { address: '192.168.1.5', family: 4, prefixLength: 32 }],
    [
      '192.168.1.5:443',
      { address: '192.168.1.5', family: 4, prefixLength: 32, ports: { from: 443, to: 443 } },
    ],
    [
      '[fd00::/8]:10250-10255',
      { address: 'fd00::', family: 6, prefixLength: 8, ports: { from: 10250, to: 10255 } },
    ],
    ['fd00::/8', { address: 'fd00::', family: 6, prefixLength: 8 }],
    ['[::1]', { address: '::1', family: 6, prefixLength: 128 }],
    ['0.0.0.0/0', { address: '0.0.0.0', family: 4, prefixLength: 0 }],
  ])('%j is accepted as %j', (entry, value) => {
    expect(parseAllowedDestination(entry)).toEqual({ ok: true, value });
  });

  test.each([
    'example.com',
    '10.0.0.0/33',
    '10.0.0.0/8/1',
    '10.0.0.0/x',
    '10.0.0.0/8:0',
    '10.0.0.0/8:70000',
    '10.0.0.0/8:20-10',
    '10.0.0.0/8:1-2-3',
    '[fd00::/8',
    '[fd00::/8]x',
    '[fd00::/129]',
    '',
  ])('%j is rejected', (entry) => {
    expect(parseAllowedDestination(entry).ok).toBe(false);
  });
});

describe('--proxy-server-addresses entries', () => {
  test.each([
    ['server-2.example:8132', { host: 'server-2.example', port: 8132 }],
    ['10.0.0.2:8091', { host: '10.0.0.2', port: 8091 }],
    ['[fd00::2]:8091', { host: 'fd00::2', port: 8091 }],
  ])('%j is accepted', (entry, value) => {
    expect(parseServerAddress(entry)).toEqual({ ok: true, value });
  });

  test.each(['server', 'server:', ':8091', 'server:0', 'server:http', 'fd00::2:8091', '[server]:8091'])(
    '%j is rejected',
    (entry) => {
      expect(parseServerAddress(entry).ok).toBe(false);
    },
  );
});

describe('--agent-identifiers (url.ParseQuery plus the known keys)', () => {
  test('the documented example is accepted and parsed into lists', () => {
    const raw =
      'host=localhost&host=node1.mydomain.com&cidr=127.0.0.1/16&ipv4=1.2.3.4&ipv4=5.6.7.8&ipv6=:::::&default-route=true';
    expect(checkAgentIdentifiers(raw)).toBeUndefined();
    expect(parseAgentIdentifiersFlag(raw)).toEqual({
      host: ['localhost', 'node1.mydomain.com'],
      cidr: ['127.0.0.1/16'],
      ipv4: ['1.2.3.4', '5.6.7.8'],
      ipv6: [':::::'],
      defaultRoute: true,
    });
  });

  test('values are URL-decoded', () => {
    expect(parseAgentIdentifiersFlag('ipv6=fd00%3A%3A1&host=a+b').ipv6).toEqual(['fd00::1']);
    expect(parseAgentIdentifiersFlag('host=a+b').host).toEqual(['a b']);
  });

  test('empty input and empty segments are fine', () => {
    expect(checkAgentIdentifiers('')).toBeUndefined();
    expect(checkAgentIdentifiers('&host=a&')).toBeUndefined();
  });

  test('default-route is only set by a true value', () => {
    expect(parseAgentIdentifiersFlag('default-route=false').defaultRoute).toBe(false);
    expect(parseAgentIdentifiersFlag('default-route=1').defaultRoute).toBe(true);
  });

  test.each([
    ['zone=a', 'unknown address type: zone'],
    ['host=%zz', 'invalid URL escape "%zz"'],
    ['host=%4', 'invalid URL escape "%4"'],
    ['host=a;b', 'invalid semicolon separator in query'],
  ])('%j is rejected with %j', (raw, why) => {
    expect(checkAgentIdentifiers(raw)).toBe(why);
  });
});

describe('--event-log', () => {
  test.each([
    '',
    'file:/var/lib/k/events',
    'nats://127.0.0.1:4222',
    'nats://a:4222,nats://b:4222',
    'nats://a:4222, tls://b:4222',
    'nats://u:p@a:4222',
  ])('%j is accepted', (raw) => {
    expect(checkEventLog(raw)).toBeUndefined();
  });

  test.each([
    'file:',
    'nats://',
    'nats://a:4222,redis://b',
    'nats://a:4222/path',
    'kafka://x',
    '/var/lib/events',
  ])('%j is rejected', (raw) => {
    expect(checkEventLog(raw)).toBeDefined();
  });

  test('empty means the embedded file log under --data-dir', () => {
    expect(parseEventLogLocation('', '/data')).toEqual({ kind: 'file', dir: '/data/events' });
  });
});

describe('label syntaxes of the lease flags', () => {
  test.each([
    '',
    'k8s-app=konnectivity-server',
    'a=b,c!=d',
    'env in (prod, staging)',
    '!legacy',
    'example.com/role',
    'x==y',
  ])('selector %j is accepted', (s) => {
    expect(checkLabelSelector(s)).toBeUndefined();
  });

  test.each(['*notavalidlabel*', 'a=b,', 'a=*', '-a=b', 'Example.com/x=y', 'n > x'])(
    'selector %j is rejected',
    (s) => {
      expect(checkLabelSelector(s)).toBeDefined();
    },
  );

  test("the server's plain label list follows util.ParseLabels", () => {
    expect(checkLabelPairs('k8s-app=konnectivity-server,tier=cp')).toBeUndefined();
    expect(checkLabelPairs('')).toBe('empty string provided');
    expect(checkLabelPairs('a=b,c')).toBe('invalid label format: c');
  });
});

describe('klog value syntaxes', () => {
  const check = (name: string, value: string): string | undefined => {
    const spec = klogFlagSpecs.find((s) => s.name === name);
    if (spec?.kind !== 'string' || spec.check === undefined) throw new Error(`${name} has no string check`);
    return spec.check(value);
  };

  test('stderrthreshold takes a severity name or number', () => {
    expect(check('stderrthreshold', 'INFO')).toBeUndefined();
    expect(check('stderrthreshold', 'warning')).toBeUndefined();
    expect(check('stderrthreshold', '3')).toBeUndefined();
    expect(check('stderrthreshold', 'LOUD')).toContain('invalid syntax');
  });

  test('vmodule takes pattern=N lists', () => {
    expect(check('vmodule', 'server*=4,agent=2')).toBeUndefined();
    expect(check('vmodule', 'server')).toBe('syntax error: expect comma-separated list of filename=N');
    expect(check('vmodule', 'server=-1')).toBe('negative value for vmodule level');
  });

  test('log_backtrace_at takes file.go:N, and its own printed default', () => {
    expect(check('log-backtrace-at', 'server.go:42')).toBeUndefined();
    expect(check('log-backtrace-at', ':0')).toBeUndefined();
    expect(check('log-backtrace-at', 'server:42')).toBe('syntax error: expect file.go:234');
    expect(check('log-backtrace-at', 'server.go:0')).toBe('negative or zero value for level');
  });
});
