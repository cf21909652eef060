/** The executable as an operator runs it: bin shim -> compiled CLI, as a separate process. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { openEventLog, type EventLog } from '../../src/persistence/eventLog';
import type { NatsEventLog } from '../../src/persistence/natsEventLog';
import { startNatsServer, type NatsServerHandle } from '../helpers/natsServer';
import {
  connectionLifecycle,
  recordingLogger,
  serverFactory,
  tempDir,
  waitFor,
} from '../persistence/fixtures';
import { buildForTest, childEnv } from './buildForTest';

interface Run {
  code: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
  signal(sig: NodeJS.Signals): void;
}

describe('bin/konnectivity-events (built)', () => {
  let build: Awaited<ReturnType<typeof tempDir>>;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let nats: NatsServerHandle;
  const logs: EventLog[] = [];

  beforeAll(async () => {
    build = await tempDir('konnectivity-build-');
    data = await tempDir();
    nats = await startNatsServer();
    await buildForTest(build.path);
  }, 60_000);
  afterAll(async () => {
    for (const log of logs) await log.close();
    await nats?.dispose();
    await data?.remove();
    await build?.remove();
  });

  function run(args: string[]): Run {
    const child = spawn(process.execPath, [join(build.path, 'bin', 'konnectivity-events'), ...args], {
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    return {
      code: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
      stdout: () => out,
      stderr: () => err,
      signal: (sig) => child.kill(sig),
    };
  }

  async function log(eventLog: string, serverId: string): Promise<EventLog> {
    const l = await openEventLog({
      eventLog,
      dataDir: data.path,
      process: { kind: 'server', serverId },
      logger: recordingLogger(),
    });
    logs.push(l);
    return l;
  }

  it('tails the embedded log and audits it', async () => {
    const l = await log('', 'built-file');
    connectionLifecycle(serverFactory('built-file'), 1n, 'node-a').forEach((e) => l.append(e));
    await l.flush();
    const tail = run(['tail', `--data-dir=${data.path}`]);
    expect(await tail.code).toBe(0);
    expect(
      tail
        .stdout()
        .trim()
        .split('\n')
        .map((line) => line.split(/\s+/)[2]),
    ).toEqual(['dial.requested', 'dial.established', 'conn.opened', 'conn.closed']);
    const audit = run(['audit', '--data-dir', data.path, '--json']);
    expect(await audit.code).toBe(0);
    expect(JSON.parse(audit.stdout())).toMatchObject({
      agentId: 'node-a',
      connections: 1,
      bytesToEndpoint: 100,
    });
  });

  it('exits 2 with one line for a bad flag', async () => {
    const r = run(['tail', '--data-dir=/tmp', '--colour=always']);
    expect(await r.code).toBe(2);
    expect(r.stderr()).toBe('konnectivity-events: unknown flag --colour (see --help)\n');
  });

  it('follows NATS live and stops cleanly on SIGINT', async () => {
    const serverId = 'built-nats';
    const l = (await log(nats.url, serverId)) as NatsEventLog;
    const f = serverFactory(serverId);
    const [first, ...rest] = connectionLifecycle(f, 7n);
    l.append(first!);
    expect(await l.whenPublished(10_000)).toBe(true);
    const tail = run(['tail', '--follow', `--event-log=${nats.url}`, `--server=${serverId}`, '--json']);
    await waitFor(() => tail.stdout().includes(first!.id), 'the existing event');
    rest.forEach((e) => l.append(e));
    await waitFor(() => rest.every((e) => tail.stdout().includes(e.id)), 'the new events');
    tail.signal('SIGINT');
    expect(await tail.code).toBe(0);
    expect(tail.stdout().trim().split('\n')).toHaveLength(4);
  });
});
