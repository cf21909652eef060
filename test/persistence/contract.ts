/**
 * The behaviour every EventLog backend must have. `contract.test.ts` runs this same body against the
 * embedded file log and against NATS JetStream.
 */
import { Registry } from 'prom-client';
import type { LifecycleEvent } from '../../src/events';
import { openEventLog, type EventLog, type EventLogSpec } from '../../src/persistence/eventLog';
import { closingEvents, fold } from '../../src/persistence/recovery';
import {
  collect,
  connectionLifecycle,
  ManualClock,
  manyEvents,
  MAX_INT64,
  recordingLogger,
  serverFactory,
  tempDir,
} from './fixtures';

export interface ContractBackend {
  /** The `--event-log` value for a test (called once per test, after any beforeAll). */
  eventLog(dataDir: string): string;
}

let uniq = 0;

export function eventLogContract(backend: ContractBackend): void {
  let dir: { path: string; remove(): Promise<void> };
  let opened: EventLog[];
  let serverId: string;

  beforeEach(async () => {
    dir = await tempDir();
    opened = [];
    serverId = `srv.${process.pid}.${++uniq} *>`; // every character a subject must survive
  });
  afterEach(async () => {
    for (const log of opened) await log.close();
    await dir.remove();
  });

  async function open(extra: Partial<EventLogSpec> = {}): Promise<EventLog> {
    const log = await openEventLog({
      eventLog: backend.eventLog(dir.path),
      dataDir: dir.path,
      process: { kind: 'server', serverId },
      logger: recordingLogger(),
      ...extra,
    });
    opened.push(log);
    return log;
  }

  it('replays what was appended, in order and exactly, int64s included', async () => {
    const log = await open();
    const f = serverFactory(serverId);
    const events = [...connectionLifecycle(f, MAX_INT64), ...manyEvents(f, 40)];
    for (const e of events) log.append(e);
    await log.flush();
    const replayed = await collect(log.replay());
    expect(replayed).toEqual(events);
    expect(replayed[0]).toMatchObject({ random: MAX_INT64, type: 'dial.requested' });
  });

  it('replays only events at or after `since`, and through a filter', async () => {
    const log = await open();
    const clock = new ManualClock();
    const f = serverFactory(serverId, clock);
    const early = connectionLifecycle(f, 1n);
    clock.advance(60_000);
    const late = connectionLifecycle(f, 2n, 'agent-2');
    for (const e of [...early, ...late]) log.append(e);
    await log.flush();
    expect(await collect(log.replay({ since: new Date(clock.now()) }))).toEqual(late);
    const closed = await collect(log.replay({ filter: (e) => e.type === 'conn.closed' }));
    expect(closed.map((e) => e.id)).toEqual([early[3]!.id, late[3]!.id]);
  });

  it('keeps events across close and reopen', async () => {
    const f = serverFactory(serverId);
    const first = manyEvents(f, 10);
    const log1 = await open();
    for (const e of first) log1.append(e);
    await log1.close();
    const log2 = await open();
    const second = connectionLifecycle(f, 99n);
    for (const e of second) log2.append(e);
    await log2.flush();
    expect(await collect(log2.replay())).toEqual([...first, ...second]);
  });

  it('never throws from append, counts what it drops, and closes twice safely', async () => {
    const registry = new Registry();
    const log = await open({ registry });
    const f = serverFactory(serverId);
    const good = connectionLifecycle(f, 5n);
    const bad = { ...good[0]!, random: 5n } as unknown as LifecycleEvent; // a bigint cannot be JSON
    expect(() => log.append(bad)).not.toThrow();
    for (const e of good) log.append(e);
    await log.flush();
    expect(await collect(log.replay())).toEqual(good);
    await log.close();
    await log.close();
    expect(() => log.append(good[0]!)).not.toThrow();
    const dropped = await registry.getSingleMetric('konnectivity_ts_event_log_dropped_total')!.get();
    const byReason = Object.fromEntries(dropped.values.map((v) => [v.labels.reason, v.value]));
    expect(byReason).toEqual({ unserializable: 1, closed: 1 });
  });

  it('flush with nothing appended resolves at once', async () => {
    const log = await open();
    await expect(log.flush()).resolves.toBeUndefined();
  });

  it('reports published events and backlog through the registry', async () => {
    const registry = new Registry();
    const log = await open({ registry });
    for (const e of manyEvents(serverFactory(serverId), 20)) log.append(e);
    await log.flush();
    await waitUntilPublished(log);
    const text = await registry.metrics();
    expect(text).toMatch(
      new RegExp(`konnectivity_ts_event_log_published_total\\{backend="${log.backend}"\\} 20`),
    );
    expect(text).toMatch(new RegExp(`konnectivity_ts_event_log_backlog\\{backend="${log.backend}"\\} 0`));
    expect(text).toContain('konnectivity_ts_event_log_publish_latency_seconds_bucket');
  });

  it('recovers: closing events for what was left open leave nothing open', async () => {
    const f = serverFactory(serverId);
    const log1 = await open();
    log1.append(f.serverStarted({ mode: 'grpc', serverCount: 1 }));
    log1.append(f.agentConnected({ agentId: 'a.1', identifiers: {}, remoteAddress: '10.0.0.9:1' }));
    for (const e of connectionLifecycle(f, 1n)) log1.append(e);
    for (const e of connectionLifecycle(f, 2n).slice(0, 3)) log1.append(e); // crash: conn 2 never closed
    log1.append(f.dialRequested({ random: 3n, destination: 'x:1', mode: 'grpc', protocol: 'tcp' }));
    await log1.close();

    const log2 = await open();
    const state = await fold(log2.replay());
    expect([...state.conns.keys()]).toEqual(['2']);
    expect([...state.dials.keys()]).toEqual(['3']);
    const closing = closingEvents(state, f);
    expect(closing.map((e) => e.type)).toEqual([
      'conn.closed',
      'dial.failed',
      'agent.disconnected',
      'server.stopped',
    ]);
    for (const e of closing) log2.append(e);
    await log2.flush();
    const after = await fold(log2.replay());
    expect([after.conns.size, after.dials.size, after.agents.size, after.running]).toEqual([
      0,
      0,
      0,
      undefined,
    ]);
    expect(after.counters.dialFailures.get('server-restart')).toBe(1);
  });
}

async function waitUntilPublished(log: EventLog): Promise<void> {
  const nats = log as EventLog & { whenPublished?: (ms: number) => Promise<boolean> };
  if (nats.whenPublished !== undefined) expect(await nats.whenPublished(10_000)).toBe(true);
}
