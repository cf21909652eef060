/** The embedded log's storage: malformed records, rotation, retention, torn writes, following. */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { Registry } from 'prom-client';
import { openEventLog, type EventLog, type EventLogSpec } from '../../src/persistence/eventLog';
import { encodeRecord } from '../../src/persistence/record';
import { fold } from '../../src/persistence/recovery';
import { listSegments } from '../../src/persistence/segmentFiles';
import { followRecords, readRecords } from '../../src/persistence/segmentReader';
import {
  collect,
  malformedSink,
  manyEvents,
  recordingLogger,
  serverFactory,
  tempDir,
  waitFor,
} from './fixtures';

describe('embedded file log', () => {
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
    });
    logs.push(log);
    return log;
  }

  it('skips and reports a garbage line in the middle and a truncated last line', async () => {
    const f = serverFactory('s1');
    const before = manyEvents(f, 5);
    const after = manyEvents(f, 5);
    const log1 = await open();
    before.forEach((e) => log1.append(e));
    await log1.close();
    const [segment] = await listSegments(dir.path, 'events');
    await appendFile(segment!.path, 'this is not json at all\n');
    const log2 = await open();
    after.forEach((e) => log2.append(e));
    await log2.close();
    const text = await readFile(segment!.path, 'utf8');
    await writeFile(segment!.path, text + text.split('\n')[1]!.slice(0, 40)); // a torn last write

    const registry = new Registry();
    const malformed = malformedSink();
    const log3 = await open({ registry, onMalformed: malformed.handler });
    const state = await fold(log3.replay());
    expect(state.events).toBe(10);
    expect(malformed.records.map((r) => r.problem)).toEqual(['bad-json', 'truncated']);
    expect(await registry.metrics()).toContain(
      'konnectivity_ts_event_log_malformed_records_total{backend="file"} 2',
    );
    expect(await collect(log3.replay())).toEqual([...before, ...after]);
  });

  it('reports a flipped byte as a checksum error and an invalid event as invalid', async () => {
    const [a, b, c] = manyEvents(serverFactory('s1'), 3);
    const good = encodeRecord(1, JSON.stringify(a));
    const flipped = encodeRecord(2, JSON.stringify(b)).replace('"dial.', '"dual.');
    const invalid = encodeRecord(3, JSON.stringify({ ...c, destination: 42 }));
    await writeFile(`${dir.path}/events-0000000000000001.jsonl`, good + flipped + invalid);
    const malformed = malformedSink();
    const read = await collect(readRecords(dir.path, 'events', { onMalformed: malformed.handler }));
    expect(read.map((r) => r.event)).toEqual([a]);
    expect(malformed.records.map((r) => r.problem)).toEqual(['bad-checksum', 'invalid-event']);
  });

  it('continues after a torn write without gluing the next record onto it', async () => {
    const f = serverFactory('s1');
    const log1 = await open({ file: { fsync: false } });
    const first = manyEvents(f, 3);
    first.forEach((e) => log1.append(e));
    await log1.close();
    const [segment] = await listSegments(dir.path, 'events');
    await appendFile(segment!.path, '{"seq":4,"event":{"v":1');
    const log2 = await open();
    const second = manyEvents(f, 3);
    second.forEach((e) => log2.append(e));
    await log2.flush();
    expect(await collect(log2.replay())).toEqual([...first, ...second]);
  });

  it('rotates by size and keeps only the newest segments', async () => {
    const log = await open({ file: { maxSegmentBytes: 2000, retainSegments: 3, fsync: false } });
    const events = manyEvents(serverFactory('s1'), 200);
    for (const e of events) {
      log.append(e);
      await log.flush(); // one record per write, so rotation happens at every size boundary
    }
    const segments = await listSegments(dir.path, 'events');
    expect(segments).toHaveLength(3);
    const kept = await collect(log.replay());
    expect(kept.length).toBeGreaterThan(5);
    expect(kept).toEqual(events.slice(events.length - kept.length));
  });

  it('follows new records across rotations until aborted', async () => {
    const log = await open({ file: { maxSegmentBytes: 1500, fsync: false } });
    const events = manyEvents(serverFactory('s1'), 40);
    events.slice(0, 10).forEach((e) => log.append(e));
    await log.flush();
    const abort = new AbortController();
    const seen: string[] = [];
    const following = (async () => {
      for await (const r of followRecords(dir.path, 'events', { pollMs: 10, signal: abort.signal }))
        seen.push(r.event.id);
    })();
    await waitFor(() => seen.length === 10, 'the existing records');
    events.slice(10).forEach((e) => log.append(e));
    await log.flush();
    await waitFor(() => seen.length === 40, 'the new records');
    abort.abort();
    await following;
    expect(seen).toEqual(events.map((e) => e.id));
    expect((await listSegments(dir.path, 'events')).length).toBeGreaterThan(2);
  });

  it('stores a synchronous burst of many batches whole and in order', async () => {
    const log = await open({ file: { maxQueued: 200_000 } });
    const events = manyEvents(serverFactory('s1'), 50_000);
    for (const e of events) log.append(e);
    await log.flush();
    const stored = await collect(log.replay());
    expect(stored.length).toBe(events.length);
    expect(stored.map((e) => e.id)).toEqual(events.map((e) => e.id));
  }, 60_000);
});

describe('one writer per directory', () => {
  it('refuses a second writer and lets the next one in after close', async () => {
    const dir = await tempDir();
    const spec = { eventLog: '', dataDir: dir.path, process: { kind: 'server', serverId: 's' } as const };
    try {
      const first = await openEventLog(spec);
      await expect(openEventLog(spec)).rejects.toMatchObject({ name: 'EventLogError', reason: 'locked' });
      await first.close();
      const second = await openEventLog(spec);
      await second.close();
    } finally {
      await dir.remove();
    }
  });

  it('takes over the lock of a process that is gone', async () => {
    const dir = await tempDir();
    try {
      await mkdir(`${dir.path}/events`, { recursive: true });
      await writeFile(`${dir.path}/events/LOCK`, '999999999\n');
      const log = await openEventLog({
        eventLog: '',
        dataDir: dir.path,
        process: { kind: 'server', serverId: 's' },
      });
      await log.close();
    } finally {
      await dir.remove();
    }
  });
});
