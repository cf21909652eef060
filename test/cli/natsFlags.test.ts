/** `konnectivity-events` takes the NATS security flags, checks them, and never prints credentials. */
import { join } from 'node:path';
import { parseArgs, UsageError } from '../../src/cli/args';
import { cli } from './cliHarness';

const now = Date.parse('2025-03-01T12:00:00Z');

describe('konnectivity-events NATS security flags', () => {
  it('parses the TLS and creds flags for a NATS event log', () => {
    const o = parseArgs(
      [
        'tail',
        '--event-log=tls://nats:4222',
        '--event-log-tls-ca=/ca.pem',
        '--event-log-tls-cert',
        '/c.pem',
        '--event-log-tls-key=/k.pem',
        '--event-log-creds=/u.creds',
      ],
      now,
    );
    expect(o.natsSecurity).toEqual({
      tlsCa: '/ca.pem',
      tlsCert: '/c.pem',
      tlsKey: '/k.pem',
      creds: '/u.creds',
    });
  });

  it('refuses them for the embedded log', () => {
    expect(() => parseArgs(['tail', '--data-dir=/d', '--event-log-tls-ca=/ca.pem'], now)).toThrow(
      new UsageError('--event-log-tls-ca is only for a NATS event log (--event-log=nats://...)'),
    );
  });

  it('exits 2 naming the flag and the file when a TLS file is missing', async () => {
    const missing = join('/nonexistent', 'ca.pem');
    const r = await cli([
      'tail',
      '--event-log=nats://u:hunter2@127.0.0.1:1',
      `--event-log-tls-ca=${missing}`,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot read --event-log-tls-ca ${missing}`);
    expect(r.stderr).not.toContain('hunter2');
  });

  it('exits 1 without printing the password when NATS cannot be reached', async () => {
    const r = await cli(['tail', '--event-log=nats://konnectivity:hunter2@127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nats://konnectivity:***@127.0.0.1:1');
    expect(r.stderr).not.toContain('hunter2');
  });
});
