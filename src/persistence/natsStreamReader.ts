/**
 * Reads the event stream with an ordered consumer (ephemeral, no acks, recreated by the client at the
 * right sequence if a message goes missing). A one-shot read ends when the consumer reports nothing
 * pending; a follow read runs until its signal aborts.
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
  readonly follow?: boolean;
  readonly signal?: AbortSignal;
  readonly onMalformed?: MalformedHandler;
}

/** Messages pulled per request: large enough to replay ~100k events/s. */
const PULL_BATCH = 1000;

export async function* readStream(
  js: JetStreamClient,
  opts: StreamReadOptions,
): AsyncGenerator<LifecycleEvent> {
  const config: Partial<OrderedConsumerOptions> = { filter_subjects: opts.subject };
  if (opts.since !== undefined) {
    config.deliver_policy = DeliverPolicy.StartTime;
    config.opt_start_time = opts.since.toISOString();
  }
  const consumer = await js.consumers.get(STREAM_NAME, config);
  try {
    if (opts.follow !== true && (await consumer.info(true)).num_pending === 0) return;
    const messages = await consumer.consume({ max_messages: PULL_BATCH });
    const stop = (): void => void messages.close();
    opts.signal?.addEventListener('abort', stop);
    try {
      if (opts.signal?.aborted === true) return;
      for await (const m of messages) {
        const event = decodeMessage(m.subject, m.seq, m.string(), opts.onMalformed);
        if (event !== undefined) yield event;
        if (opts.follow !== true && m.info.pending === 0) break;
      }
    } finally {
      opts.signal?.removeEventListener('abort', stop);
      await messages.close();
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
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
