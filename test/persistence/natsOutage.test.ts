/**
 * The promise of the NATS backend: an outage loses nothing and duplicates nothing. NATS is stopped
 * for 10 s under a steady 200 events/s and restarted; every event must then be in the stream exactly
 * once, in append order.
 */
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { eventFactory, type LifecycleEvent } from '../../src/events';
import { openEventLog } from '../../src/persistence/eventLog';
import type { NatsEventLog } from '../../src/persistence/natsEventLog';
import { processSubjects, STREAM_NAME } from '../../src/persistence/subjects';
import { startNatsServer, type NatsServerHandle } from '../helpers/natsServer';
import { recordingLogger, tempDir, waitFor } from './fixtures';

const RATE_PER_TICK = 20; // every 100 ms: 200 events/s
const OUTAGE_MS = 10_000;

describe('NATS outage', () => {
  let nats: NatsServerHandle;
  let dir: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    nats = await startNatsServer();
    dir = await tempDir();
  });
  afterAll(async () => {
    await nats?.dispose();
    await dir?.remove();
  });

  it('delivers every event exactly once, in order, after a 10 s outage at 200 events/s', async () => {
    const serverId = 'outage.server-1';
    const registry = new Registry();
    const logger = recordingLogger();
    const log = (await openEventLog({
      eventLog: nats.url,
      dataDir: dir.path,
      process: { kind: 'server', serverId },
      registry,
      logger,
      nats: { publishTimeoutMs: 2000 },
    })) as NatsEventLog;
    const f = eventFactory({ serverId });
    const appended: string[] = [];
    let n = 0;
    const tick = setInterval(() => {
      for (let i = 0; i < RATE_PER_TICK; i++) {
        const random = BigInt(n++) * 104729n;
        const e: LifecycleEvent =
          n % 2 === 0
            ? f.dialRequested({ random, destination: `10.0.${n % 250}.1:443`, mode: 'grpc', protocol: 'tcp' })
            : f.dialFailed({
                random,
                destination: '10.0.0.1:1',
                reason: 'agent-error',
                error: 'refused',
                latencyMs: 1,
              });
        log.append(e);
        appended.push(e.id);
      }
    }, 100);
    try {
      await waitFor(() => appended.length >= 400 && log.backlog < RATE_PER_TICK * 2, 'steady state', 10_000);
      await nats.stop();
      const stoppedAt = Date.now();
      let peakBacklog = 0;
      await waitFor(
        () => ((peakBacklog = Math.max(peakBacklog, log.backlog)), Date.now() - stoppedAt >= OUTAGE_MS),
        'the outage to last',
        OUTAGE_MS + 5000,
      );
      const duringOutage = appended.length;
      await nats.restart();
      const restartedAt = Date.now();
      await waitFor(() => log.backlog < RATE_PER_TICK * 2, 'the outbox to catch up', 30_000);
      const catchUpMs = Date.now() - restartedAt;
      await waitFor(() => appended.length >= duringOutage + 400, 'appends after the restart');
      clearInterval(tick);
      expect(await log.whenPublished(30_000)).toBe(true);
      const stored = await readIds(nats.url, processSubjects({ kind: 'server', serverId }));

      expect(stored.length).toBe(appended.length);
      expect(stored).toEqual(appended);
      const text = await registry.metrics();
      expect(text).not.toMatch(/konnectivity_ts_event_log_dropped_total\{[^}]*\} [1-9]/);
      expect(logger.lines.some((l) => l.msg.includes('lost NATS'))).toBe(true);
      // Recorded for the issue note: how big the outbox got and how long catching up took.
      process.stdout.write(
        `outage: ${appended.length} events, peak backlog ${peakBacklog}, caught up ${catchUpMs} ms after restart\n`,
      );
    } finally {
      clearInterval(tick);
      await log.close();
    }
  }, 60_000);

  it('holds and drains the backlog of a 60 s outage at 100 connections/s (30,000 events)', async () => {
    const serverId = 'outage.server-2';
    const log = (await openEventLog({
      eventLog: nats.url,
      dataDir: dir.path,
      process: { kind: 'server', serverId },
      logger: recordingLogger(),
    })) as NatsEventLog;
    try {
      await nats.stop();
      const f = eventFactory({ serverId });
      const events = Array.from({ length: 30_000 }, (_, i) =>
        f.dialRequested({ random: BigInt(i), destination: '10.0.0.1:443', mode: 'grpc', protocol: 'tcp' }),
      );
      const start = process.hrtime.bigint();
      for (const e of events) log.append(e);
      const appendNs = Number(process.hrtime.bigint() - start) / events.length;
      await log.flush();
      expect(log.backlog).toBe(events.length);
      await nats.restart();
      const restartedAt = Date.now();
      expect(await log.whenPublished(60_000)).toBe(true);
      const drainMs = Date.now() - restartedAt;
      expect(await readIds(nats.url, processSubjects({ kind: 'server', serverId }))).toEqual(
        events.map((e) => e.id),
      );
      process.stdout.write(
        `outage backlog: 30000 events held, ${appendNs.toFixed(0)} ns/append, drained ${drainMs} ms after restart\n`,
      );
    } finally {
      await log.close();
    }
  }, 90_000);
});

async function readIds(url: string, subject: string): Promise<string[]> {
  const nc: NatsConnection = await connect({ servers: url });
  try {
    const consumer = await jetstream(nc).consumers.get(STREAM_NAME, {
      filter_subjects: subject,
      deliver_policy: DeliverPolicy.All,
    });
    const ids: string[] = [];
    if ((await consumer.info(true)).num_pending === 0) return ids;
    const messages = await consumer.consume();
    for await (const m of messages) {
      ids.push(m.json<{ id: string }>().id);
      if (m.info.pending === 0) break;
    }
    await messages.close();
    await consumer.delete();
    return ids;
  } finally {
    await nc.close();
  }
}
