/**
 * A real crash: a child process appends, flushes and is SIGKILLed (while NATS is down, or in the
 * middle of publishing). A new log instance on the same data dir must get every flushed event into
 * the stream exactly once.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openEventLog } from '../../src/persistence/eventLog';
import type { NatsEventLog } from '../../src/persistence/natsEventLog';
import { processSubjects, STREAM_NAME } from '../../src/persistence/subjects';
import { buildForTest, childEnv } from '../cli/buildForTest';
import { startNatsServer, type NatsServerHandle } from '../helpers/natsServer';
import { collect, recordingLogger, tempDir } from './fixtures';

const CHILD = `
const { openEventLog } = require('./dist/persistence/eventLog.js');
const { eventFactory } = require('./dist/events/index.js');
const [url, dataDir, serverId, count] = process.argv.slice(2);
const quiet = { info() {}, warn() {}, error() {} };
(async () => {
  const log = await openEventLog({ eventLog: url, dataDir, process: { kind: 'server', serverId }, logger: quiet });
  const f = eventFactory({ serverId });
  const ids = [];
  for (let i = 0; i < Number(count); i++) {
    const e = f.dialRequested({ random: BigInt(i), destination: '10.0.0.1:443', mode: 'grpc', protocol: 'tcp' });
    log.append(e);
    ids.push(e.id);
  }
  await log.flush();
  process.stdout.write(JSON.stringify(ids) + '\\n');
  setInterval(() => {}, 1000); // runs until killed
})();
`;

async function streamCount(url: string, serverId: string): Promise<number> {
  const nc: NatsConnection = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(STREAM_NAME, {
      subjects_filter: processSubjects({ kind: 'server', serverId }),
    });
    return info.state.messages;
  } finally {
    await nc.close();
  }
}

describe('outbox after a crash (SIGKILL)', () => {
  let build: Awaited<ReturnType<typeof tempDir>>;
  let nats: NatsServerHandle;

  beforeAll(async () => {
    build = await tempDir('konnectivity-build-');
    await buildForTest(build.path);
    await writeFile(join(build.path, 'crash.js'), CHILD);
    nats = await startNatsServer();
  }, 60_000);
  afterAll(async () => {
    await nats?.dispose();
    await build?.remove();
  });

  /** Runs the child until it has flushed, kills it at once, and returns the ids it appended. */
  async function crashAfterFlush(dataDir: string, serverId: string, count: number): Promise<string[]> {
    const child = spawn(process.execPath, ['crash.js', nats.url, dataDir, serverId, String(count)], {
      cwd: build.path,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let out = '';
    const ids = await new Promise<string[]>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.endsWith('\n')) {
          child.kill('SIGKILL');
          resolve(JSON.parse(out) as string[]);
        }
      });
      child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    await exited;
    return ids;
  }

  async function reopenAndRead(dataDir: string, serverId: string): Promise<string[]> {
    const log = (await openEventLog({
      eventLog: nats.url,
      dataDir,
      process: { kind: 'server', serverId },
      logger: recordingLogger(),
    })) as NatsEventLog;
    try {
      expect(await log.whenPublished(20_000)).toBe(true);
      return (await collect(log.replay())).map((e) => e.id);
    } finally {
      await log.close();
    }
  }

  it('publishes what a process killed during a NATS outage had flushed', async () => {
    const dir = await tempDir();
    try {
      await nats.stop();
      const ids = await crashAfterFlush(dir.path, 'crash-outage', 2000);
      await nats.restart();
      expect(await reopenAndRead(dir.path, 'crash-outage')).toEqual(ids);
    } finally {
      await dir.remove();
    }
  }, 60_000);

  it('stores each event once when the process is killed in the middle of publishing', async () => {
    const dir = await tempDir();
    try {
      const ids = await crashAfterFlush(dir.path, 'crash-publishing', 20_000);
      const published = await streamCount(nats.url, 'crash-publishing');
      expect(published).toBeLessThan(ids.length); // the kill did interrupt publishing
      process.stdout.write(`outbox crash: killed with ${published} of ${ids.length} events in the stream\n`);
      expect(await reopenAndRead(dir.path, 'crash-publishing')).toEqual(ids);
    } finally {
      await dir.remove();
    }
  }, 60_000);
});
