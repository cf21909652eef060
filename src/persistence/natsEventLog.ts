/**
 * The NATS JetStream backend: outbox on disk -> publisher -> stream `KONNECTIVITY_EVENTS`. `append`
 * only queues into the outbox; the outbox makes events durable locally before they are published, so
 * neither a NATS outage nor a crash of this process loses an event that `flush` covered.
 */
import type { LifecycleEvent } from '../events';
import type { DropReporter } from './dropReporter';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHECKPOINT_FILE } from './checkpoint';
import { EventLogError, errorText } from './errors';
import type { EventLog } from './eventLogApi';
import type { EventLogMetrics } from './metrics';
import { NatsLink, type StreamSettings } from './natsLink';
import { NatsPublisher, type PublisherTuning } from './natsPublisher';
import type { NatsConnectSettings } from './natsSecurity';
import { recoverFromStream } from './natsRecovery';
import { readStream } from './natsStreamReader';
import type { RecoveryState } from './recoveryState';
import { Outbox, type OutboxTuning } from './outbox';
import { ALL_EVENTS_SUBJECT, processSubjects, subjectFor } from './subjects';
import {
  matchesReplay,
  type EventLogLogger,
  type EventProcess,
  type MalformedHandler,
  type ReplayOptions,
} from './types';

export interface NatsLogTuning extends OutboxTuning, PublisherTuning {
  readonly stream: StreamSettings;
  readonly connectTimeoutMs: number;
  readonly reconnectWaitMs: number;
  /** How long `replay` waits for NATS before failing (recovery waits as long as it takes instead). */
  readonly replayConnectTimeoutMs: number;
  /** How long `close` keeps publishing the backlog; what is left stays in the outbox for next start. */
  readonly closeDrainMs: number;
}

export const NATS_LOG_DEFAULTS: NatsLogTuning = {
  // A 60 s outage at 100 connections/s is ~20-30k events; 100k rides out about five minutes of that,
  // at ~550 bytes per waiting event in memory (~55 MB when full) and ~400 on disk.
  capacity: 100_000,
  // Small segments so acked ones are deleted soon after an outage drains.
  maxSegmentBytes: 8 * 1024 * 1024,
  // Batching window for the outbox write + fsync: invisible to humans, large enough to batch bursts.
  batchDelayMs: 5,
  maxBatch: 2000,
  fsync: true,
  // Publishes in flight: 256 reached ~40k msg/s on loopback, more did not help.
  window: 256,
  // A healthy JetStream acks in about a millisecond; 5 s rides out a leader election without
  // declaring an outage, and a failed window is retried from the outbox anyway.
  publishTimeoutMs: 5000,
  stream: {
    // Must exceed the longest outage after which in-flight publishes are retried, or a message whose
    // ack was lost in the outage is stored twice.
    duplicateWindowMs: 2 * 60 * 1000,
    maxAgeMs: 30 * 24 * 3600 * 1000,
    maxBytes: -1,
    replicas: 1,
  },
  connectTimeoutMs: 2000,
  // Reconnect fast: every second disconnected is a second of events waiting in the outbox.
  reconnectWaitMs: 250,
  // A reader (tests, tools) may wait this long for NATS before giving up with 'nats-unavailable'.
  replayConnectTimeoutMs: 10_000,
  // Bounded so shutdown is never held hostage by NATS; the rest is published at the next start.
  closeDrainMs: 2000,
};

export interface NatsLogDeps {
  readonly metrics: EventLogMetrics;
  readonly logger: EventLogLogger;
  readonly dropped: DropReporter;
  readonly onMalformed: MalformedHandler;
  readonly tuning?: Partial<NatsLogTuning>;
}

/** Between recovery attempts while NATS answers but the read fails (say, JetStream still starting). */
const RECOVERY_RETRY_MS = 1000;
/** How long one wait for a connection lasts before recovery looks again whether the log was closed. */
const RECOVERY_CONNECT_WAIT_MS = 60_000;

export class NatsEventLog implements EventLog {
  readonly backend = 'nats' as const;
  private closing: Promise<void> | undefined;
  private recovering: Promise<RecoveryState> | undefined;
  private readonly stopRecovery = new AbortController();

  private constructor(
    private readonly outboxDir: string,
    private readonly process: EventProcess,
    private readonly link: NatsLink,
    private readonly outbox: Outbox,
    private readonly publisher: NatsPublisher,
    private readonly tuning: NatsLogTuning,
    private readonly deps: NatsLogDeps,
  ) {}

  static async open(
    connect: NatsConnectSettings,
    outboxDir: string,
    process: EventProcess,
    deps: NatsLogDeps,
  ): Promise<NatsEventLog> {
    const tuning = { ...NATS_LOG_DEFAULTS, ...deps.tuning };
    const outbox = await Outbox.open(outboxDir, tuning, {
      ...deps,
      subjectOf: (event) => subjectFor(process, event),
    });
    const name =
      process.kind === 'server'
        ? `konnectivity-server ${process.serverId}`
        : `konnectivity-agent ${process.agentId}`;
    const link = new NatsLink({ connect, name, logger: deps.logger, ...tuning });
    const publisher = new NatsPublisher(link, outbox, tuning, deps.logger);
    link.start();
    publisher.start();
    return new NatsEventLog(outboxDir, process, link, outbox, publisher, tuning, deps);
  }

  append(event: LifecycleEvent): void {
    try {
      if (this.closing !== undefined) return this.deps.dropped('closed', 1);
      if (!this.outbox.add(event)) this.deps.dropped('outbox-full', 1);
    } catch {
      this.deps.dropped('internal', 1);
    }
  }

  flush(): Promise<void> {
    return this.outbox.flush();
  }

  /** Events appended but not yet acked by JetStream. */
  get backlog(): number {
    return this.outbox.backlog;
  }

  /** Resolves true once everything appended so far is acked by JetStream, false after `timeoutMs`. */
  whenPublished(timeoutMs: number): Promise<boolean> {
    return this.outbox.whenEmpty(timeoutMs);
  }

  replay(opts?: ReplayOptions): AsyncIterable<LifecycleEvent> {
    return this.read(processSubjects(this.process), opts);
  }

  readAll(): AsyncIterable<LifecycleEvent> {
    return this.read(ALL_EVENTS_SUBJECT, undefined);
  }

  recover(): Promise<RecoveryState> {
    this.recovering ??= this.recoverWhenReachable();
    return this.recovering;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopRecovery.abort();
      await this.recovering?.catch(() => undefined);
      await this.outbox.flush().catch(() => undefined);
      if (this.link.connected && !(await this.outbox.whenEmpty(this.tuning.closeDrainMs))) {
        this.deps.logger.warn('closing with events still in the outbox; they are published at next start', {
          backlog: this.outbox.backlog,
        });
      }
      await this.publisher.stop();
      await this.outbox.close();
      await this.link.close();
    })();
    return this.closing;
  }

  /** Waits for NATS as long as it takes (events wait in the outbox meanwhile), then folds. */
  private async recoverWhenReachable(): Promise<RecoveryState> {
    const signal = this.stopRecovery.signal;
    let failures = 0;
    for (;;) {
      if (signal.aborted) throw new EventLogError('closed', 'the event log was closed before recovery');
      if (!(await this.link.whenConnected(RECOVERY_CONNECT_WAIT_MS, signal))) continue;
      try {
        return await recoverFromStream({
          link: this.link,
          outbox: this.outbox,
          subject: processSubjects(this.process),
          checkpointPath: join(this.outboxDir, CHECKPOINT_FILE),
          fsync: this.tuning.fsync,
          logger: this.deps.logger,
          onMalformed: this.deps.onMalformed,
          signal,
        });
      } catch (err) {
        if (signal.aborted) throw new EventLogError('closed', 'the event log was closed during recovery');
        if (failures++ % 30 === 0) {
          this.deps.logger.warn('event log recovery cannot read the stream yet; retrying', {
            err: errorText(err),
          });
        }
        await sleep(RECOVERY_RETRY_MS, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /**
   * The stream's events, then those still in the outbox. An outbox event may already be in the stream
   * (acked, cursor not yet saved); it is skipped there and yielded once, last, where it belongs.
   */
  private async *read(subject: string, opts: ReplayOptions | undefined): AsyncGenerator<LifecycleEvent> {
    if (this.closing === undefined) await this.outbox.flush().catch(() => undefined);
    if (!(await this.link.whenConnected(this.tuning.replayConnectTimeoutMs))) {
      throw new EventLogError('nats-unavailable', `cannot replay events: NATS not reachable at ${subject}`);
    }
    const unacked = this.outbox.unacked();
    const held = new Set(unacked.map((e) => e.id));
    const js = this.link.client!;
    for await (const event of readStream(js, {
      subject,
      since: opts?.since,
      onMalformed: this.deps.onMalformed,
    })) {
      if (!held.has(event.id) && matchesReplay(event, opts)) yield event;
    }
    for (const event of unacked) if (matchesReplay(event, opts)) yield event;
  }
}
