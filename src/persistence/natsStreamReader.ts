/**
 * Reads the event stream with an ordered consumer (ephemeral, no acks, recreated by the client at the
 * right sequence if a message goes missing). A one-shot read ends at the last message matching the
 * subject when the read starts (events stored later belong to the next read); a follow read runs until
 * its signal aborts. The consumer's `pending` count is not used to stop: nats-server 2.9.10 miscounts
 * it for start-time consumers, and a reader waiting for it to reach 0 waited forever.
 */
import { DeliverPolicy, type JetStreamClient, type OrderedConsumerOptions } from '@nats-io/jetstream';
import { validateEvent, type LifecycleEvent } from '../events';
import { STREAM_NAME } from './subjects';
import type { MalformedHandler } from './types';
import { upcast } from './upcast';

export interface StreamReadOptions {
  /** Subject filter, e.g. `konnectivity.events.>` or one process's subjects. */
  readonly subject: string;
  /** Start at the first message stored at or after this time (events are also filtered by `time`). */
  readonly since?: Date;
  /** Start at this stream sequence (recovery after a checkpoint); not with `since`. */
  readonly fromSeq?: number;
  readonly follow?: boolean;
  readonly signal?: AbortSignal;
  readonly onMalformed?: MalformedHandler;
}

/** Messages pulled per request: large enough to replay ~100k events/s. */
const PULL_BATCH = 1000;

export interface StreamRecord {
  /** The message's stream sequence. */
  readonly seq: number;
  readonly event: LifecycleEvent;
}

export async function* readStream(
  js: JetStreamClient,
  opts: StreamReadOptions,
): AsyncGenerator<LifecycleEvent> {
  for await (const r of readStreamRecords(js, opts)) yield r.event;
}

export async function* readStreamRecords(
  js: JetStreamClient,
  opts: StreamReadOptions,
): AsyncGenerator<StreamRecord> {
  const config: Partial<OrderedConsumerOptions> = { filter_subjects: opts.subject };
  if (opts.since !== undefined) {
    config.deliver_policy = DeliverPolicy.StartTime;
    config.opt_start_time = opts.since.toISOString();
  } else if (opts.fromSeq !== undefined) {
    config.deliver_policy = DeliverPolicy.StartSequence;
    config.opt_start_seq = opts.fromSeq;
  }
  let end = Infinity;
  if (opts.follow !== true) {
    const last = await lastMatching(js, opts.subject);
    // Nothing stored, or nothing stored since `since`: done without creating a consumer that would
    // wait for a message that never comes.
    if (last === undefined || (opts.since !== undefined && last.time < opts.since)) return;
    if (opts.fromSeq !== undefined && last.seq < opts.fromSeq) return;
    end = last.seq;
  }
  const consumer = await js.consumers.get(STREAM_NAME, config);
  try {
    const messages = await consumer.consume({ max_messages: PULL_BATCH });
    const stop = (): void => void messages.close();
    opts.signal?.addEventListener('abort', stop);
    try {
      if (opts.signal?.aborted === true) return;
      for await (const m of messages) {
        if (m.seq > end) break;
        const event = decodeMessage(m.subject, m.seq, m.string(), opts.onMalformed);
        if (event !== undefined) yield { seq: m.seq, event };
        if (m.seq === end) break;
      }
    } finally {
      opts.signal?.removeEventListener('abort', stop);
      await messages.close();
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}

/** The stream's last message on `subject` (wildcards allowed), or undefined when there is none. */
async function lastMatching(
  js: JetStreamClient,
  subject: string,
): Promise<{ seq: number; time: Date } | undefined> {
  const jsm = await js.jetstreamManager(false);
  // null for "no message found" (an empty stream, or nothing on the subject).
  const m = await jsm.streams.getMessage(STREAM_NAME, { last_by_subj: subject });
  return m === null ? undefined : { seq: m.seq, time: m.time };
}

function decodeMessage(
  subject: string,
  seq: number,
  text: string,
  onMalformed: MalformedHandler | undefined,
): LifecycleEvent | undefined {
  const source = `${STREAM_NAME}#${seq} ${subject}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    onMalformed?.({ source, problem: 'bad-json', detail: (err as Error).message });
    return undefined;
  }
  const checked = validateEvent(upcast(parsed));
  if (!checked.ok) {
    onMalformed?.({ source, problem: 'invalid-event', detail: checked.problem });
    return undefined;
  }
  return checked.event;
}
