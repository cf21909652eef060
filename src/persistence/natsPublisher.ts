/**
 * Moves records from the outbox to JetStream, oldest first. A window of publishes is pipelined on
 * the connection (natsAckCollector.ts: one inbox for every PubAck, one timer per window); the outbox only advances over the acked prefix, so a failure anywhere retries from
 * the first unacked record and the stream's msgID dedup absorbs whatever had already landed. While
 * disconnected it does not publish at all: the client discards publishes buffered during an outage.
 */
import { JetStreamApiError } from '@nats-io/jetstream';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorText } from './errors';
import { AckCollector, PublishError } from './natsAckCollector';
import type { NatsLink } from './natsLink';
import type { Outbox } from './outbox';
import type { EventLogLogger } from './types';

export interface PublisherTuning {
  /** Publishes in flight at once: pipelining is ~5x the throughput of one at a time. */
  readonly window: number;
  /** How long to wait for a PubAck before treating the publish as failed and retrying. */
  readonly publishTimeoutMs: number;
}

/**
 * Backoff between failed publish rounds, doubling from the first to the last: a JetStream leader election
 * takes a few hundred ms, so the first retries come soon, and an outage costs at most one round per 2 s.
 */
const RETRY_BACKOFF_MS = { first: 100, last: 2000 } as const;
/** Log one publish failure per this many, so an outage leaves a trace without a flood. */
const LOG_EVERY_FAILURES = 50;
/** 503 = no responders: JetStream is not (yet) there, e.g. just after a server restart. */
const NO_RESPONDERS = 503;

export class NatsPublisher {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly link: NatsLink,
    private readonly outbox: Outbox,
    private readonly tuning: PublisherTuning,
    private readonly logger: EventLogLogger,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    let failures = 0;
    let acks: AckCollector | undefined;
    while (!signal.aborted) {
      const connection = this.link.connection;
      if (connection === undefined) {
        await this.link.whenConnected(60_000, signal);
        continue;
      }
      if (acks?.connection !== connection) {
        acks?.close();
        acks = new AckCollector(connection);
      }
      const batch = this.outbox.peek(this.tuning.window);
      if (batch.length === 0) {
        await this.outbox.whenWork(signal);
        continue;
      }
      const { acked, error: err } = await acks.publish(batch, this.tuning.publishTimeoutMs);
      this.outbox.acked(acked);
      if (err === undefined) {
        failures = 0;
        continue;
      }
      if (failures++ % LOG_EVERY_FAILURES === 0) {
        this.logger.warn('event publish failed; retrying from the outbox', {
          err: errorText(err),
          backlog: this.outbox.backlog,
        });
      }
      if (isStreamMissing(err)) await this.link.ensureStream().catch(() => undefined);
      const backoff = Math.min(RETRY_BACKOFF_MS.first * 2 ** Math.min(failures, 5), RETRY_BACKOFF_MS.last);
      await sleep(backoff, undefined, { signal }).catch(() => undefined);
    }
  }
}

function isStreamMissing(err: unknown): boolean {
  if (err instanceof PublishError)
    return err.reason === 'no-responders' || /stream not found/i.test(err.message);
  if (err instanceof JetStreamApiError) return err.status === NO_RESPONDERS || err.code === 10059;
  return /no responders/i.test(errorText(err));
}
