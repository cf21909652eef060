/**
 * Bounded start-up and bounded size: recovery reads the checkpoint plus the records after it (the
 * checkpoint is only a cache: without a usable one everything left is folded), and the embedded log stays
 * under its size bound, oldest segments first, without losing the counters of what it deleted.
 */
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { LifecycleEvent } from '../../src/events';
import { CHECKPOINT_FILE } from '../../src/persistence/checkpoint';
import { encodeRecord } from '../../src/persistence/record';
import { openEventLog, outboxDir, type EventLog, type EventLogSpec } from '../../src/persistence/eventLog';
import { fold, type RecoveryState } from '../../src/persistence/recovery';
import { listSegments } from '../../src/persistence/segmentFiles';
import { processSubjects, STREAM_NAME } from '../../src/persistence/subjects';
import { startNatsServer, type NatsServerHandle } from '../helpers/natsServer';
import { malformedSink, manyEvents, recordingLogger, serverFactory, tempDir } from './fixtures';

jest.setTimeout(60_000);

/** The counters and what is open: equal for a checkpoint-based and a full fold of the same events. */
function summary(s: RecoveryState): unknown {
  return {
    events: s.events,
    counters: { ...s.counters, bytesByAgent: [...s.counters.bytesByAgent] },
    conns: [...s.conns.keys()],
    agents: [...s.agents.keys()],
  };
}

async function appendAll(log: EventLog, events: LifecycleEvent[]): Promise<void> {
  for (const e of events) log.append(e);
  await log.flush();
}

describe('embedded log checkpoint and size bound', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const logs: EventLog[] = [];
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    for (const log of logs.splice(0)) await log.close();
    await dir.remove();
  });
  async function open(extra: Partial<EventLogSpec> = {}): Promise<EventLog> {
    const log = await openEventLog({
      eventLog: `file:${dir.path}`,
      dataDir: '',
      process: { kind: 'server', serverId: 's1' },
      logger: recordingLogger(),
      ...extra,
      file: { fsync: false, ...extra.file },
    });
    logs.push(log);
    return log;
  }

  it('given an earlier run closed with a checkpoint, when the next run recovers, then it folds the checkpoint plus the tail and never reads the records before it', async () => {
    const f = serverFactory('s1');
    const earlier = manyEvents(f, 400);
    // Small segments: recovery skips whole segments that end before the checkpoint.
    const first = await open({ file: { maxSegmentBytes: 4000 } });
    await first.recover();
    for (let i = 0; i < earlier.length; i += 20) await appendAll(first, earlier.slice(i, i + 20));
    await first.close();
    const checkpoint = JSON.parse(await readFile(join(dir.path, CHECKPOINT_FILE), 'utf8')) as {
      body: string;
    };
    expect(JSON.parse(checkpoint.body)).toMatchObject({ position: 400 });
    // Garbage where the checkpointed records were: reading them would report every line as malformed.
    const segments = await listSegments(dir.path, 'events');
    expect(segments.length).toBeGreaterThan(5);
    for (const segment of segments.slice(0, -1)) {
      const text = await readFile(segment.path, 'utf8');
      await writeFile(segment.path, text.replace(/[^\n]/g, 'x'));
    }

    const malformed = malformedSink();
    const second = await open({ onMalformed: malformed.handler, file: { maxSegmentBytes: 4000 } });
    const mine = manyEvents(f, 5);
    for (const e of mine) second.append(e); // this run's own events are not part of recovery
    const state = await second.recover();

    expect(summary(state)).toEqual(summary(await fold(earlier)));
    expect(malformed.records).toEqual([]);
  });

  it('given a corrupt checkpoint, when recovering, then it folds everything the log holds and says so', async () => {
    const f = serverFactory('s1');
    const earlier = manyEvents(f, 120);
    const first = await open();
    await first.recover();
    await appendAll(first, earlier);
    await first.close();
    await writeFile(join(dir.path, CHECKPOINT_FILE), '{"crc":1,"body":"{}"}\n');

    const logger = recordingLogger();
    const second = await open({ logger });
    const state = await second.recover();

    expect(summary(state)).toEqual(summary(await fold(earlier)));
    expect(logger.lines.map((l) => l.msg)).toContain(
      'event log checkpoint not usable; folding the whole log',
    );
  });

  it('given a checkpoint ahead of the log (the log was deleted), when recovering, then it is ignored', async () => {
    const f = serverFactory('s1');
    const first = await open();
    await first.recover();
    await appendAll(first, manyEvents(f, 50));
    await first.close();
    for (const s of await listSegments(dir.path, 'events')) await writeFile(s.path, '');
    const fresh = manyEvents(f, 3);
    const [segment] = await listSegments(dir.path, 'events');
    // A log that starts over at seq 1 while the checkpoint says 50.
    await writeFile(segment!.path, fresh.map((e, i) => encodeRecord(i + 1, JSON.stringify(e))).join(''));

    const second = await open();
    const state = await second.recover();

    expect(state.events).toBe(3);
  });

  it('given a recovery under way, when the log is closed, then close does not wait for it and recovery rejects as closed', async () => {
    const first = await open();
    await first.recover();
    await appendAll(first, manyEvents(serverFactory('s1'), 2000));
    await first.close();
    for (const log of logs.splice(0)) await log.close();
    await rm(join(dir.path, CHECKPOINT_FILE)); // a first start after an upgrade: the whole log to fold

    const second = await openEventLog({
      eventLog: `file:${dir.path}`,
      dataDir: '',
      process: { kind: 'server', serverId: 's1' },
      logger: recordingLogger(),
      file: { fsync: false },
    });
    const recovering = second.recover();
    await second.close();

    await expect(recovering).rejects.toMatchObject({ reason: 'closed' });
  });

  it('given a size bound, when far more than it is written, then the oldest segments go and the counters of what they held survive', async () => {
    const bound = 1024 * 1024;
    const f = serverFactory('s1');
    const log = await open({ file: { retainBytes: bound } });
    await log.recover();
    const all = manyEvents(f, 12_000); // ~3 MB of records
    for (let i = 0; i < all.length; i += 500) await appendAll(log, all.slice(i, i + 500));
    await log.close();

    const segments = await listSegments(dir.path, 'events');
    const sizes = await Promise.all(segments.map(async (s) => (await stat(s.path)).size));
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(bound + bound / 8);
    expect(segments[0]!.firstSeq).toBeGreaterThan(1); // the oldest records are gone
    const reopened = await open({ file: { retainBytes: bound } });
    expect(summary(await reopened.recover())).toEqual(summary(await fold(all)));
  });
});

describe('NATS log checkpoint', () => {
  let nats: NatsServerHandle;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats?.dispose();
  });
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('given a recovery saved a checkpoint, when the next run recovers, then it reads only the stream after it', async () => {
    const serverId = 'nats-checkpoint';
    const spec = { eventLog: nats.url, dataDir: dir.path, process: { kind: 'server', serverId } } as const;
    const f = serverFactory(serverId);
    const earlier = manyEvents(f, 200);
    const first = await openEventLog({ ...spec, logger: recordingLogger() });
    await first.recover();
    await appendAll(first, earlier);
    await first.close();
    const second = await openEventLog({ ...spec, logger: recordingLogger() });
    expect(summary(await second.recover())).toEqual(summary(await fold(earlier)));
    const later = manyEvents(f, 30);
    await appendAll(second, later);
    await second.close();
    // Deleting what the checkpoint covers from the stream changes nothing if only the tail is read.
    const nc: NatsConnection = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.purge(STREAM_NAME, { filter: processSubjects(spec.process), keep: 30 });
    await nc.close();
    expect(
      JSON.parse(await readFile(join(outboxDir(dir.path, spec.process), CHECKPOINT_FILE), 'utf8')),
    ).toHaveProperty('body');

    const third = await openEventLog({ ...spec, logger: recordingLogger() });
    const state = await third.recover();
    await third.close();

    expect(summary(state)).toEqual(summary(await fold([...earlier, ...later])));
  });
});
