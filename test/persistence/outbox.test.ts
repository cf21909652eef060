/**
 * The outbox across process restarts: what one log instance could not publish, the next one (same
 * data dir) publishes, once, in order; what it did publish is not stored twice even if its ack cursor
 * was lost; a torn record is reported and skipped; a full outbox is counted and logged.
 */
import { appendFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { openEventLog, outboxDir, type EventLogSpec } from '../../src/persistence/eventLog';
import type { NatsEventLog } from '../../src/persistence/natsEventLog';
import type { EventProcess } from '../../src/persistence/types';
import { startNatsServer, type NatsServerHandle } from '../helpers/natsServer';
import { collect, malformedSink, manyEvents, recordingLogger, serverFactory, tempDir } from './fixtures';

describe('NATS outbox', () => {
  let nats: NatsServerHandle;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let serverId: string;
  let seq = 0;
  const logs: NatsEventLog[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats?.dispose();
  });
  beforeEach(async () => {
    dir = await tempDir();
    serverId = `outbox-${++seq}`;
    if (!nats.running) await nats.restart();
  });
  afterEach(async () => {
    for (const log of logs.splice(0)) await log.close();
    await dir.remove();
  });

  const proc = (): EventProcess => ({ kind: 'server', serverId });
  async function open(extra: Partial<EventLogSpec> = {}): Promise<NatsEventLog> {
    const log = (await openEventLog({
      eventLog: nats.url,
      dataDir: dir.path,
      process: proc(),
      logger: recordingLogger(),
      ...extra,
    })) as NatsEventLog;
    logs.push(log);
    return log;
  }

  it('publishes at the next start what a closed instance could not', async () => {
    await nats.stop();
    const events = manyEvents(serverFactory(serverId), 500);
    const first = await open();
    for (const e of events) first.append(e);
    await first.close();
    expect((await readdir(outboxDir(dir.path, proc()))).some((f) => f.startsWith('outbox-'))).toBe(true);

    await nats.restart();
    const second = await open();
    expect(await second.whenPublished(10_000)).toBe(true);
    expect(await collect(second.replay())).toEqual(events);
  });

  it('does not store events twice when the ack cursor was lost', async () => {
    const events = manyEvents(serverFactory(serverId), 100);
    const first = await open();
    for (const e of events) first.append(e);
    expect(await first.whenPublished(10_000)).toBe(true);
    await first.close();
    await rm(join(outboxDir(dir.path, proc()), 'acked')); // as if the process died before saving it

    const registry = new Registry();
    const second = await open({ registry });
    expect(second.backlog).toBe(100);
    expect(await second.whenPublished(10_000)).toBe(true);
    expect(await collect(second.replay())).toEqual(events);
  });

  it('reports and skips a torn record left by a crash, and publishes the rest', async () => {
    await nats.stop();
    const events = manyEvents(serverFactory(serverId), 20);
    const first = await open();
    for (const e of events) first.append(e);
    await first.close();
    const box = outboxDir(dir.path, proc());
    const segment = (await readdir(box)).find((f) => f.startsWith('outbox-'))!;
    await appendFile(join(box, segment), '{"seq":21,"event":{"v":1,"id":"01J'); // the write the crash cut

    await nats.restart();
    const malformed = malformedSink();
    const second = await open({ onMalformed: malformed.handler });
    expect(await second.whenPublished(10_000)).toBe(true);
    expect(await collect(second.replay())).toEqual(events);
    expect(malformed.records.map((r) => r.problem)).toEqual(['truncated']);
  });

  it('counts and logs events refused by a full outbox', async () => {
    await nats.stop();
    const registry = new Registry();
    const logger = recordingLogger();
    const log = await open({ registry, logger, nats: { capacity: 50 } });
    for (const e of manyEvents(serverFactory(serverId), 80)) log.append(e);
    await log.flush();
    const dropped = await registry.getSingleMetric('konnectivity_ts_event_log_dropped_total')!.get();
    expect(dropped.values).toEqual([{ labels: { backend: 'nats', reason: 'outbox-full' }, value: 30 }]);
    expect(logger.lines.find((l) => l.msg === 'lifecycle events dropped')?.fields).toEqual({
      dropped: { 'outbox-full': 1 },
    });
    await nats.restart();
    expect(await log.whenPublished(10_000)).toBe(true);
    expect(await collect(log.replay())).toHaveLength(50);
  });
});
