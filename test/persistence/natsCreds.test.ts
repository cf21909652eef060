/**
 * The NATS event log with a `.creds` file against a nats-server in operator mode (decentralised JWT
 * auth): real operator, account and user JWTs, signed with nkeys, trusted by the server's config.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { openEventLog } from '../../src/persistence/eventLog';
import { openEventReader } from '../../src/persistence/eventReader';
import type { NatsEventLog } from '../../src/persistence/natsEventLog';
import { makeNatsJwtSetup } from '../helpers/natsJwt';
import { startNatsServer, type NatsServerHandle } from '../helpers/natsServer';
import { collect, connectionLifecycle, recordingLogger, serverFactory, tempDir } from './fixtures';

/** Long enough for a publish round trip on a loaded machine; only bounds a hung test. */
const PUBLISHED_WITHIN_MS = 20_000;

describe('NATS event log with a .creds file (operator mode)', () => {
  let nats: NatsServerHandle;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let creds: string;
  let strangerCreds: string;

  beforeAll(async () => {
    const setup = makeNatsJwtSetup();
    dir = await tempDir();
    creds = join(dir.path, 'konnectivity.creds');
    strangerCreds = join(dir.path, 'stranger.creds');
    await writeFile(creds, setup.creds, { mode: 0o600 });
    await writeFile(strangerCreds, setup.strangerCreds, { mode: 0o600 });
    nats = await startNatsServer({ config: setup.serverConfig });
  });
  afterAll(async () => {
    await nats?.dispose();
    await dir?.remove();
  });

  it('publishes and reads back as the user of the .creds file', async () => {
    const serverId = 'creds-server';
    const log = (await openEventLog({
      eventLog: nats.url,
      dataDir: join(dir.path, 'data'),
      process: { kind: 'server', serverId },
      registry: new Registry(),
      logger: recordingLogger(),
      natsSecurity: { creds },
    })) as NatsEventLog;
    const events = connectionLifecycle(serverFactory(serverId), 5n);
    try {
      for (const e of events) log.append(e);
      expect(await log.whenPublished(PUBLISHED_WITHIN_MS)).toBe(true);
    } finally {
      await log.close();
    }
    const reader = await openEventReader({ eventLog: nats.url, dataDir: '', natsSecurity: { creds } });
    try {
      expect((await collect(reader.read({}))).map((e) => e.id)).toEqual(events.map((e) => e.id));
    } finally {
      await reader.close();
    }
  });

  it('without credentials, or with a user no trusted account signed, the server refuses', async () => {
    for (const natsSecurity of [{}, { creds: strangerCreds }]) {
      await expect(
        openEventReader({ eventLog: nats.url, dataDir: '', natsSecurity, connectTimeoutMs: 5000 }),
      ).rejects.toThrow(/authorization|authentication/i);
    }
  });
});
