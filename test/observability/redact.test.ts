/** Credentials in URLs never reach printed text; everything else passes through unchanged. */
import { createLogger } from '../../src/observability/logger';
import { redactCredentials } from '../../src/observability/redact';

describe('redactCredentials', () => {
  it.each([
    ['nats://user:pass@host:4222', 'nats://user:***@host:4222'],
    ['nats://s3cr3t-token@host:4222', 'nats://***@host:4222'],
    ['tls://u:p%40ss@10.0.0.1:4222', 'tls://u:***@10.0.0.1:4222'],
    ['nats://a:b@h1:4222,nats://a:b@h2:4222', 'nats://a:***@h1:4222,nats://a:***@h2:4222'],
    ['nats://h1:4222,nats://tok@h2:4222', 'nats://h1:4222,nats://***@h2:4222'],
    ['cannot connect to "nats://u:pw@h:1": refused', 'cannot connect to "nats://u:***@h:1": refused'],
    ['NATS://User:Pw@h', 'NATS://User:***@h'],
    ['nats://user:@host', 'nats://user:***@host'],
  ])('%s -> %s', (input, expected) => {
    expect(redactCredentials(input)).toBe(expected);
  });

  it.each([
    'nats://127.0.0.1:4222',
    'nats://h1:4222,nats://h2:4222',
    'mail me at ops@example.com',
    'file:/var/lib/konnectivity/events',
    'https://example.com/path/a@b',
  ])('leaves %s alone', (text) => {
    expect(redactCredentials(text)).toBe(text);
  });

  it('is applied to every log line, whatever field or error carries the URL', () => {
    const lines: string[] = [];
    const log = createLogger({ verbosity: 0, component: 't', sink: (l) => lines.push(l) });
    log.info('event log at nats://konnectivity:hunter2@nats:4222', { url: 'nats://tok3n@nats:4222' });
    log.error('failed', new Error('dial nats://konnectivity:hunter2@nats:4222', { cause: 'x' }));
    const text = lines.join('\n');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('tok3n');
    expect(text).toContain('nats://konnectivity:***@nats:4222');
  });
});
