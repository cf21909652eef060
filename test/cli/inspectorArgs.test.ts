/** `konnectivity-inspector`'s command line. */
import { InspectorUsageError, parseInspectorArgs } from '../../src/cli/inspector';

describe('parseInspectorArgs', () => {
  it('takes --listen with --event-log or --data-dir', () => {
    expect(parseInspectorArgs(['--listen=127.0.0.1:8099', '--event-log=nats://n:4222'])).toEqual({
      host: '127.0.0.1',
      port: 8099,
      eventLog: 'nats://n:4222',
      dataDir: '',
      verbosity: 0,
      natsSecurity: {},
    });
    expect(
      parseInspectorArgs(['--listen=[::1]:0', '--data-dir=/var/lib/konnectivity', '-v=3']),
    ).toMatchObject({
      host: '::1',
      port: 0,
      dataDir: '/var/lib/konnectivity',
      verbosity: 3,
    });
    expect(parseInspectorArgs(['--event-log=file:/x'])).toMatchObject({ host: '127.0.0.1', port: 8099 });
    expect(parseInspectorArgs(['--help'])).toBe('help');
  });

  it('takes the NATS security flags the server and the agent take', () => {
    expect(
      parseInspectorArgs([
        '--event-log=tls://nats-1:4222',
        '--event-log-tls-ca=/etc/ca.crt',
        '--event-log-tls-cert=/etc/c.crt',
        '--event-log-tls-key=/etc/c.key',
        '--event-log-creds=/etc/u.creds',
      ]),
    ).toMatchObject({
      natsSecurity: {
        tlsCa: '/etc/ca.crt',
        tlsCert: '/etc/c.crt',
        tlsKey: '/etc/c.key',
        creds: '/etc/u.creds',
      },
    });
  });

  it.each([
    [['--listen=1.2.3.4:8099'], 'give --event-log or --data-dir'],
    [['--listen=nohost', '--data-dir=/d'], '--listen: "nohost" is not HOST:PORT'],
    [['--listen=h:99999', '--data-dir=/d'], '--listen: "h:99999" is not HOST:PORT'],
    [['--data-dir=/d', '--frobnicate=1'], 'unknown flag --frobnicate'],
    [['--data-dir=/d', 'extra'], 'unknown argument "extra"'],
    [
      ['--data-dir=/d', '--event-log-creds=/u.creds'],
      '--event-log-creds is only for a NATS event log (--event-log=nats://...)',
    ],
  ])('refuses %j: %s', (argv, message) => {
    expect(() => parseInspectorArgs(argv)).toThrow(InspectorUsageError);
    expect(() => parseInspectorArgs(argv)).toThrow(message);
  });
});
