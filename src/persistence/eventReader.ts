/**
 * Read-only access to an event log for tools (the `konnectivity-events` CLI): no outbox, no stream
 * creation, nothing written. Reads every process's events, one-shot or following new ones.
 */
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { stat } from 'node:fs/promises';
import type { LifecycleEvent } from '../events';
import { EventLogError, errorText } from './errors';
import { parseEventLogLocation, type NatsSecurityFiles } from './eventLogLocation';
import { EVENTS_PREFIX } from './fileEventLog';
import { readStream } from './natsStreamReader';
import { natsConnectSettings } from './natsSecurity';
import { redactCredentials } from '../observability/redact';
import { followRecords, readRecords } from './segmentReader';
import { ALL_EVENTS_SUBJECT, STREAM_NAME } from './subjects';
import type { MalformedHandler } from './types';

export interface ReadRequest {
  readonly since?: Date;
  /** Keep yielding new events until `signal` aborts. */
  readonly follow?: boolean;
  readonly signal?: AbortSignal;
}

export interface EventReader {
  /** Where the events come from, for messages. */
  readonly location: string;
  read(request: ReadRequest): AsyncIterable<LifecycleEvent>;
  close(): Promise<void>;
}

export interface EventReaderSpec {
  readonly eventLog: string;
  readonly dataDir: string;
  readonly onMalformed?: MalformedHandler;
  /** TLS files and a .creds file for NATS (user/password or a token go in the URL). */
  readonly natsSecurity?: NatsSecurityFiles;
  /** A tool should fail fast when NATS is not there. */
  readonly connectTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

export async function openEventReader(spec: EventReaderSpec): Promise<EventReader> {
  const location = parseEventLogLocation(spec.eventLog, spec.dataDir);
  if (location.kind === 'file') {
    const isDir = await stat(location.dir).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir) throw new EventLogError('read-failed', `no event log at ${location.dir}`);
    return fileReader(location.dir, spec.onMalformed);
  }
  const settings = natsConnectSettings(location.servers, spec.natsSecurity);
  // Only what is printed is redacted; the credentials themselves travel in `settings`.
  const where = redactCredentials(location.servers.join(','));
  let nc: NatsConnection;
  try {
    nc = await connect({
      ...settings,
      name: 'konnectivity-events',
      timeout: spec.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      maxReconnectAttempts: -1,
    });
  } catch (err) {
    throw new EventLogError(
      'nats-unavailable',
      `cannot connect to ${where}: ${redactCredentials(errorText(err))}`,
      {
        cause: err,
      },
    );
  }
  return natsReader(nc, where, spec.onMalformed);
}

function fileReader(dir: string, onMalformed: MalformedHandler | undefined): EventReader {
  return {
    location: dir,
    async *read({ since, follow, signal }) {
      const records = follow
        ? followRecords(dir, EVENTS_PREFIX, { onMalformed, signal })
        : readRecords(dir, EVENTS_PREFIX, { onMalformed });
      for await (const { event } of records) {
        if (since === undefined || Date.parse(event.time) >= since.getTime()) yield event;
      }
    },
    close: async () => undefined,
  };
}

function natsReader(
  nc: NatsConnection,
  location: string,
  onMalformed: MalformedHandler | undefined,
): EventReader {
  const js = jetstream(nc);
  return {
    location,
    async *read({ since, follow, signal }) {
      let events: AsyncIterable<LifecycleEvent>;
      try {
        events = readStream(js, { subject: ALL_EVENTS_SUBJECT, since, follow, signal, onMalformed });
        for await (const event of events) {
          if (since === undefined || Date.parse(event.time) >= since.getTime()) yield event;
        }
      } catch (err) {
        if (/stream not found/i.test(errorText(err))) {
          throw new EventLogError('read-failed', `no stream ${STREAM_NAME} at ${location}`, { cause: err });
        }
        throw err;
      }
    },
    close: async () => {
      await nc.close();
    },
  };
}
