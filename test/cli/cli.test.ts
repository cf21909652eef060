/** The CLI end to end (in-process): the same questions asked of the embedded log and of NATS. */
import { appendFile } from 'node:fs/promises';
import { eventFactory, type LifecycleEvent } from '../../src/events';
import { openEventLog, type EventLog } from '../../src/persistence/eventLog';
import type { NatsEventLog } from '../../src/persistence/natsEventLog';
import { listSegments } from '../../src/persistence/segmentFiles';
import { startNatsServer, type NatsServerHandle } from '../helpers/natsServer';
import {
  connectionLifecycle,
  ManualClock,
  recordingLogger,
  serverFactory,
  tempDir,
  waitFor,
} from '../persistence/fixtures';
import { cli } from './cliHarness';

/** Three hours of history: an old connection, then recent ones, failures and an agent-side event. */
function history(serverId: string, clock: ManualClock): LifecycleEvent[] {
  const f = serverFactory(serverId, clock);
  const old = connectionLifecycle(f, 1n, 'node-a');
  clock.advance(2.5 * 3600_000);
  const agent = eventFactory({ agentId: 'node-b', clock });
  return [
    ...old,
    f.agentConnected({ agentId: 'node-b', identifiers: 'host=node-b', remoteAddress: '10.0.0.2:40000' }),
    ...connectionLifecycle(f, 2n, 'node-a'),
    ...connectionLifecycle(f, 3n, 'node-b'),
    f.dialFailed({
      random: 4n,
      destination: '10.9.9.9:22',
      reason: 'no-agent',
      error: 'No agent available',
      latencyMs: 0,
    }),
    agent.endpointDialFailed({
      serverId,
      random: 5n,
      destination: '10.0.0.7:1',
      reason: 'error',
      error: 'dial tcp 10.0.0.7:1: connect: connection refused',
      latencyMs: 1,
    }),
  ];
}

function suite(
  name: string,
  setup: () => {
    target: (dir: string) => string[];
    open: (dir: string, serverId: string) => Promise<EventLog>;
  },
): void {
  describe(`konnectivity-events against ${name}`, () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;
    let events: LifecycleEvent[];
    let target: string[];
    let serverId: string;
    let clock: ManualClock;
    let n = 0;

    beforeEach(async () => {
      dir = await tempDir();
      serverId = `cli-${name.replace(/\W/g, '')}-${++n}`;
      clock = new ManualClock(Date.now() - 3 * 3600_000);
      events = history(serverId, clock);
      const log = await setup().open(dir.path, serverId);
      events.forEach((e) => log.append(e));
      await log.flush();
      await (log as Partial<NatsEventLog>).whenPublished?.(10_000);
      await log.close();
      // Suites share one NATS stream: --server keeps each test to its own history.
      target = [...setup().target(dir.path), `--server=${serverId}`];
    });
    afterEach(async () => {
      await dir.remove();
    });
    const mine = (out: string): string[] =>
      out.split('\n').filter((l) => l.includes(serverId) || (l.includes('node-b') && l.includes('agent:')));

    it('tails everything as aligned lines', async () => {
      const r = await cli(['tail', ...target]);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      const lines = mine(r.stdout);
      expect(lines).toHaveLength(events.length);
      expect(lines[0]).toMatch(
        new RegExp(
          `^\\S+Z  ${serverId} +dial\\.requested +dest=10\\.0\\.0\\.5:10250 random=1 mode=grpc protocol=tcp$`,
        ),
      );
      expect(lines[lines.length - 1]).toContain(
        'agent:node-b      dial.endpoint-failed      dest=10.0.0.7:1 random=5 reason=error serverId=',
      );
      expect(lines[lines.length - 1]).toContain('error="dial tcp 10.0.0.7:1: connect: connection refused"');
    });

    it('filters by agent, destination, type and time, and prints JSON lines', async () => {
      const r = await cli([
        'tail',
        ...target,
        '--json',
        '--agent',
        'node-a',
        '--dest=10.0.0.5',
        '--type=conn.closed',
        '--since=1h',
      ]);
      expect(r.code).toBe(0);
      const got = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as LifecycleEvent)
        .filter((e) => (e as { serverId?: string }).serverId === serverId);
      expect(got).toEqual([events[8]]);
    });

    it('prints only the last N with --limit', async () => {
      const r = await cli([
        'tail',
        ...target,
        '--limit=2',
        '--json',
        '--type=dial.failed,dial.endpoint-failed',
        '--since=1h',
      ]);
      expect(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as LifecycleEvent).id),
      ).toEqual(events.slice(-2).map((e) => e.id));
    });

    it('audits per agent and destination since a time', async () => {
      const r = await cli(['audit', ...target, '--since=1h', '--agent=node-a']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        [
          'AGENT   DESTINATION     CONNS  OPEN  TO ENDPOINT  FROM ENDPOINT  FAILURES  LONGEST',
          'node-a  10.0.0.5:10250      1     0        100 B        2.0 KiB         0     15ms',
          'TOTAL                       1     0        100 B        2.0 KiB         0     15ms',
          '',
        ].join('\n'),
      );
      const json = await cli(['audit', ...target, '--json', '--dest=10.9.9.9']);
      expect(
        json.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as unknown),
      ).toContainEqual(expect.objectContaining({ agentId: '-', destination: '10.9.9.9:22', failures: 1 }));
    });

    it('follows new events until interrupted', async () => {
      const abort = new AbortController();
      const log = await setup().open(dir.path, serverId);
      const marker = serverFactory(serverId).serverStopped({ reason: 'shutdown' });
      let stdout = '';
      const running = cli(['tail', ...target, '--follow', '--json'], {
        signal: abort.signal,
        onStdout: (out) => {
          stdout = out;
          if (out.includes('"type":"server.stopped"')) abort.abort();
        },
      });
      try {
        await waitFor(() => stdout.split('\n').length > events.length, 'the history to be printed');
        log.append(marker);
        await log.flush();
        const r = await running;
        expect(r.code).toBe(0);
        const ids = r.stdout
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as LifecycleEvent).id);
        expect(ids).toEqual([...events, marker].map((e) => e.id));
      } finally {
        abort.abort();
        await running;
        await log.close();
      }
    });
  });
}

describe('konnectivity-events', () => {
  let nats: NatsServerHandle;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats?.dispose();
  });

  const open = (eventLog: (dir: string) => string) => (dir: string, serverId: string) =>
    openEventLog({
      eventLog: eventLog(dir),
      dataDir: dir,
      process: { kind: 'server', serverId },
      logger: recordingLogger(),
    });

  suite('the embedded log', () => ({ target: (dir) => ['--data-dir', dir], open: open(() => '') }));
  suite('NATS', () => ({ target: () => [`--event-log=${nats.url}`], open: open(() => nats.url) }));

  it('reports malformed records on stderr and carries on', async () => {
    const dir = await tempDir();
    try {
      const log = await openEventLog({
        eventLog: '',
        dataDir: dir.path,
        process: { kind: 'server', serverId: 'm' },
      });
      connectionLifecycle(serverFactory('m'), 1n).forEach((e) => log.append(e));
      await log.close();
      const [segment] = await listSegments(`${dir.path}/events`, 'events');
      await appendFile(segment!.path, 'garbage\n');
      const r = await cli(['tail', '--data-dir', dir.path]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split('\n')).toHaveLength(4);
      expect(r.stderr).toMatch(
        /^konnectivity-events: skipped a malformed record \(bad-json\) at .*events-0+1\.jsonl@\d+\n$/,
      );
    } finally {
      await dir.remove();
    }
  });

  it.each([
    [['tail', '--data-dir=/x', '--bogus'], 2, /^konnectivity-events: unknown flag --bogus \(see --help\)\n$/],
    [['tail', '--event-log=http://x'], 2, /is not file:<dir> or nats:\/\/host:port/],
    [
      ['tail', '--data-dir=/nonexistent/dir'],
      1,
      /^konnectivity-events: no event log at \/nonexistent\/dir\/events\n$/,
    ],
  ])('fails with one line: %j', async (argv, code, stderr) => {
    const r = await cli(argv);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(stderr);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('fails with one line when NATS is not there', async () => {
    const r = await cli(['tail', `--event-log=nats://127.0.0.1:1`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^konnectivity-events: cannot connect to nats:\/\/127\.0\.0\.1:1: .*\n$/);
  });

  it('prints usage for --help', async () => {
    const r = await cli(['--help']);
    expect([r.code, r.stdout.startsWith('usage: konnectivity-events')]).toEqual([0, true]);
  });
});
