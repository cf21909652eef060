/**
 * Owns the NATS connection for the event log: connects in the background (start-up never waits for
 * NATS), tracks connected/disconnected from the client's status stream, and makes sure the stream
 * exists. The client reconnects by itself once connected; this loop only covers the first connect
 * and a connection that was closed for good.
 */
import {
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  StorageType,
  type JetStreamClient,
} from '@nats-io/jetstream';
// The type comes from nats-core directly: transport-node re-exports it from the `/internal` subpath,
// which this project's `moduleResolution: node` cannot see, so it would silently be `any`.
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { redactCredentials } from '../observability/redact';
import { EventLogError, errorText } from './errors';
import type { NatsConnectSettings } from './natsSecurity';
import { ALL_EVENTS_SUBJECT, STREAM_NAME } from './subjects';
import type { EventLogLogger } from './types';

export interface StreamSettings {
  /** Publishes with a msgID seen within this window are dropped by the server as duplicates. */
  readonly duplicateWindowMs: number;
  /** 0 keeps events until `maxBytes` (or forever). */
  readonly maxAgeMs: number;
  readonly maxBytes: number;
  readonly replicas: number;
}

export interface NatsLinkOptions {
  /** Servers (credentials already split out of the URLs), credentials and TLS. */
  readonly connect: NatsConnectSettings;
  readonly stream: StreamSettings;
  readonly connectTimeoutMs: number;
  readonly reconnectWaitMs: number;
  readonly logger: EventLogLogger;
  /** A name that shows up in `nats server report connections`. */
  readonly name: string;
}

/**
 * Ping often enough to notice a silently dead server (a partition, not a closed socket) within ~20 s;
 * the client default is two minutes, a long time to publish into a void.
 */
const PING_INTERVAL_MS = 10_000;
/** Wait between first-connect attempts while NATS is down; the client's own reconnects take over later. */
const FIRST_CONNECT_RETRY_MS = 1000;
const NANOS_PER_MS = 1_000_000;
/** JetStream's code for "stream name already in use with a different configuration". */
const STREAM_NAME_IN_USE = 10058;

export class NatsLink {
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private up = false;
  private closed = false;
  private readonly abort = new AbortController();
  private readonly listeners = new Set<() => void>();
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: NatsLinkOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  get connected(): boolean {
    return this.up;
  }

  /** The core connection while connected (for pipelined publishes). */
  get connection(): NatsConnection | undefined {
    return this.up ? this.nc : undefined;
  }

  /** The JetStream client while connected. */
  get client(): JetStreamClient | undefined {
    return this.up ? this.js : undefined;
  }

  /** Resolves true once connected, false after `timeoutMs`, on close or when `signal` aborts. */
  async whenConnected(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.up) return true;
    if (this.closed || signal?.aborted === true) return false;
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
        signal?.removeEventListener('abort', aborted);
        resolve(ok);
      };
      const aborted = (): void => done(false);
      const check = (): void => (this.up ? done(true) : this.closed ? done(false) : undefined);
      const timer = setTimeout(aborted, timeoutMs);
      this.listeners.add(check);
      signal?.addEventListener('abort', aborted);
    });
  }

  /** Creates the stream, or accepts an existing one that covers our subjects. */
  async ensureStream(): Promise<void> {
    const nc = this.nc;
    if (nc === undefined) throw new EventLogError('nats-unavailable', 'not connected to NATS');
    const jsm = await jetstreamManager(nc);
    const { stream } = this.opts;
    try {
      await jsm.streams.add({
        name: STREAM_NAME,
        subjects: [ALL_EVENTS_SUBJECT],
        storage: StorageType.File,
        duplicate_window: stream.duplicateWindowMs * NANOS_PER_MS,
        max_age: stream.maxAgeMs * NANOS_PER_MS,
        max_bytes: stream.maxBytes,
        num_replicas: stream.replicas,
      });
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === STREAM_NAME_IN_USE)) throw err;
      // An operator may have tuned the stream (retention, replicas); keep theirs if it can hold ours.
      const info = await jsm.streams.info(STREAM_NAME);
      if (
        !info.config.subjects?.some((s) => s === ALL_EVENTS_SUBJECT || s === 'konnectivity.>' || s === '>')
      ) {
        throw new EventLogError(
          'stream-misconfigured',
          `stream ${STREAM_NAME} does not take ${ALL_EVENTS_SUBJECT}`,
          {
            cause: err,
          },
        );
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    this.setUp(false);
    await this.nc?.close().catch(() => undefined);
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      let nc: NatsConnection;
      try {
        nc = await connect({
          ...this.opts.connect,
          name: this.opts.name,
          timeout: this.opts.connectTimeoutMs,
          maxReconnectAttempts: -1,
          reconnectTimeWait: this.opts.reconnectWaitMs,
          pingInterval: PING_INTERVAL_MS,
        });
      } catch (err) {
        if (failures++ % 30 === 0) {
          this.opts.logger.warn('event log cannot reach NATS; events wait in the outbox', {
            err: redactCredentials(errorText(err)),
          });
        }
        await sleep(FIRST_CONNECT_RETRY_MS, undefined, { signal: this.abort.signal }).catch(() => undefined);
        continue;
      }
      if (this.closed) {
        await nc.close();
        return;
      }
      failures = 0;
      this.nc = nc;
      this.js = jetstream(nc);
      await this.serve(nc);
      this.setUp(false);
    }
  }

  /** Runs until the connection is closed for good (by us, or by the client giving up). */
  private async serve(nc: NatsConnection): Promise<void> {
    let linkUp = true;
    let ready = false;
    // Subscribe to status before anything can close the connection: close() only ends listeners
    // registered before it, and waits for them.
    const statuses = (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') {
          linkUp = false;
          this.opts.logger.warn('event log lost NATS; events wait in the outbox', { server: s.server });
          this.setUp(false);
        } else if (s.type === 'reconnect') {
          linkUp = true;
          this.opts.logger.info('event log reconnected to NATS', { server: s.server });
          if (ready) this.setUp(true);
        }
      }
    })();
    await this.ensureStream().catch((err: unknown) =>
      this.opts.logger.error('cannot create the event stream; publishing will retry', {
        err: errorText(err),
      }),
    );
    ready = true;
    if (!this.closed && linkUp) {
      this.opts.logger.info('event log connected to NATS', { server: nc.getServer() });
      this.setUp(true);
    }
    await nc.closed();
    await statuses;
  }

  private setUp(up: boolean): void {
    this.up = up;
    for (const l of [...this.listeners]) l();
  }
}
