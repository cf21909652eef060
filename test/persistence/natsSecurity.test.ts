/**
 * The NATS event log against real nats-servers that demand TLS and credentials: user/password in the
 * URL over TLS with a private CA, a token over mutual TLS, and the start-up checks that name the flag
 * and the file. Nothing printed along the way may contain a secret.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { openEventLog } from '../../src/persistence/eventLog';
import { openEventReader } from '../../src/persistence/eventReader';
import type { NatsEventLog } from '../../src/persistence/natsEventLog';
import { natsConnectSettings } from '../../src/persistence/natsSecurity';
import { startNatsServer, type NatsServerHandle } from '../helpers/natsServer';
import { makeTlsDir, type TlsDir } from '../helpers/tls';
import { collect, connectionLifecycle, recordingLogger, serverFactory, tempDir } from './fixtures';

const USER = 'konnectivity';
const PASSWORD = 'pw-9f8e7d6c5b4a';
const TOKEN = 'tok-0a1b2c3d4e5f';
/** Long enough for a publish round trip on a loaded machine; only bounds a hung test. */
const PUBLISHED_WITHIN_MS = 20_000;

describe('NATS event log with TLS and credentials', () => {
  let tls: TlsDir;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let userServer: NatsServerHandle;
  let mtlsServer: NatsServerHandle;

  beforeAll(async () => {
    tls = await makeTlsDir();
    dir = await tempDir();
    userServer = await startNatsServer({
      config: [
        `tls { cert_file: "${tls.clusterCert}", key_file: "${tls.clusterKey}" }`,
        `authorization { user: "${USER}", password: "${PASSWORD}" }`,
      ].join('\n'),
    });
    mtlsServer = await startNatsServer({
      config: [
        `tls { cert_file: "${tls.clusterCert}", key_file: "${tls.clusterKey}", ca_file: "${tls.caCert}", verify: true }`,
        `authorization { token: "${TOKEN}" }`,
      ].join('\n'),
    });
  });
  afterAll(async () => {
    await userServer?.dispose();
    await mtlsServer?.dispose();
    await dir?.remove();
    await tls?.cleanup();
  });

  const url = (server: NatsServerHandle, userinfo: string): string =>
    `tls://${userinfo}@127.0.0.1:${server.port}`;

  async function publishAndReadBack(
    eventLog: string,
    natsSecurity: Parameters<typeof openEventLog>[0]['natsSecurity'],
    serverId: string,
  ): Promise<void> {
    const logger = recordingLogger();
    const log = (await openEventLog({
      eventLog,
      dataDir: join(dir.path, serverId),
      process: { kind: 'server', serverId },
      registry: new Registry(),
      logger,
      natsSecurity,
    })) as NatsEventLog;
    const events = connectionLifecycle(serverFactory(serverId), 77n);
    try {
      for (const e of events) log.append(e);
      expect(await log.whenPublished(PUBLISHED_WITHIN_MS)).toBe(true);
    } finally {
      await log.close();
    }
    const reader = await openEventReader({ eventLog, dataDir: '', natsSecurity });
    try {
      const read = (await collect(reader.read({}))).filter((e) => 'serverId' in e && e.serverId === serverId);
      expect(read.map((e) => e.id)).toEqual(events.map((e) => e.id));
      expect(reader.location).not.toContain(PASSWORD);
    } finally {
      await reader.close();
    }
    expect(JSON.stringify(logger.lines)).not.toMatch(new RegExp(`${PASSWORD}|${TOKEN}`));
  }

  it('publishes and reads back with user/password in the URL over TLS with a private CA', async () => {
    await publishAndReadBack(url(userServer, `${USER}:${PASSWORD}`), { tlsCa: tls.caCert }, 'sec-user');
  });

  it('publishes and reads back with a token over mutual TLS', async () => {
    await publishAndReadBack(
      url(mtlsServer, TOKEN),
      { tlsCa: tls.caCert, tlsCert: tls.agentCert, tlsKey: tls.agentKey },
      'sec-mtls',
    );
  });

  it('a nats:// URL with TLS flags still insists on TLS and verifies the server with the CA', async () => {
    const plain = `nats://${USER}:${PASSWORD}@127.0.0.1:${userServer.port}`;
    await publishAndReadBack(plain, { tlsCa: tls.caCert }, 'sec-plain-scheme');
  });

  it('a wrong password is refused, and the error does not show it', async () => {
    const wrong = 'not-the-password-123';
    const err = (await openEventReader({
      eventLog: url(userServer, `${USER}:${wrong}`),
      dataDir: '',
      natsSecurity: { tlsCa: tls.caCert },
      connectTimeoutMs: 5000,
    }).then(
      () => undefined,
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/authorization|authentication/i);
    expect(err.message).not.toContain(wrong);
    expect(err.message).toContain(`${USER}:***@`);
  });

  it('a server certificate from an unknown CA is refused', async () => {
    const err = (await openEventReader({
      eventLog: url(userServer, `${USER}:${PASSWORD}`),
      dataDir: '',
      natsSecurity: { tlsCa: tls.clusterCert }, // a leaf, not the CA that signed the server certificate
      connectTimeoutMs: 5000,
    }).then(
      () => undefined,
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/certificate/i);
    expect(err.message).not.toContain(PASSWORD);
  });

  it('mutual TLS without a client certificate is refused', async () => {
    const err = await openEventReader({
      eventLog: url(mtlsServer, TOKEN),
      dataDir: '',
      natsSecurity: { tlsCa: tls.caCert },
      connectTimeoutMs: 5000,
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).not.toContain(TOKEN);
  });
});

describe('NATS security settings are checked at start-up', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let tls: TlsDir;
  beforeAll(async () => {
    dir = await tempDir();
    tls = await makeTlsDir();
  });
  afterAll(async () => {
    await dir?.remove();
    await tls?.cleanup();
  });

  const servers = ['nats://127.0.0.1:4222'];

  it('names the flag and the file that cannot be read', () => {
    const missing = join(dir.path, 'nope.pem');
    let err: unknown;
    try {
      natsConnectSettings(servers, { tlsCa: missing });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ reason: 'unreadable' });
    expect((err as Error).message).toContain(`cannot read --event-log-tls-ca ${missing}`);
  });

  it('names the flag and the file that is not PEM', async () => {
    const junk = join(dir.path, 'junk.pem');
    await writeFile(junk, 'hello');
    expect(() =>
      natsConnectSettings(servers, { tlsCa: tls.caCert, tlsCert: junk, tlsKey: tls.agentKey }),
    ).toThrow(`--event-log-tls-cert ${junk}: not a PEM file`);
  });

  it('wants a client certificate and its key together', () => {
    expect(() => natsConnectSettings(servers, { tlsCert: tls.agentCert })).toThrow(
      '--event-log-tls-cert needs --event-log-tls-key',
    );
    expect(() => natsConnectSettings(servers, { tlsKey: tls.agentKey })).toThrow(
      '--event-log-tls-key needs --event-log-tls-cert',
    );
  });

  it('rejects a .creds file that is not one, naming it', async () => {
    const creds = join(dir.path, 'user.creds');
    await writeFile(creds, 'not creds at all');
    expect(() => natsConnectSettings(servers, { creds })).toThrow(`--event-log-creds ${creds}: not a NATS`);
  });

  it('rejects credentials both in the URL and in a .creds file', async () => {
    const creds = join(dir.path, 'other.creds');
    await writeFile(creds, 'x');
    expect(() => natsConnectSettings(['nats://u:p@h:4222'], { creds })).toThrow(/give one of them/);
  });

  it('rejects URLs with different credentials, without printing them', () => {
    let message = '';
    try {
      natsConnectSettings(['nats://a:secret1@h1:4222', 'nats://b:secret2@h2:4222']);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/same credentials/);
    expect(message).not.toMatch(/secret1|secret2/);
  });

  it('splits credentials out of the URLs: user/password, token, TLS from the scheme', () => {
    expect(natsConnectSettings(['nats://u:p%40ss@h1:4222', 'nats://h2:4222'])).toEqual({
      servers: ['nats://h1:4222', 'nats://h2:4222'],
      user: 'u',
      pass: 'p@ss',
    });
    expect(natsConnectSettings(['tls://tok@h1:4222'])).toEqual({
      servers: ['tls://h1:4222'],
      token: 'tok',
      tls: {},
    });
  });
});
