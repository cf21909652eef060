/**
 * Recovery for the NATS backend: the checkpoint kept beside the outbox (the fold of this process's
 * subjects up to a stream sequence), then the stream after it up to this run's first event, then what
 * earlier runs left unpublished in the outbox. The checkpoint is replaced by the new fold of the stream
 * part, so the next start reads only what was published after this one.
 */
import { readCheckpoint, writeCheckpoint } from './checkpoint';
import { EventLogError, errorText } from './errors';
import type { NatsLink } from './natsLink';
import { readStreamRecords } from './natsStreamReader';
import type { Outbox } from './outbox';
import { liveState } from './recovery';
import { initialState, type RecoveryState } from './recoveryState';
import { STREAM_NAME } from './subjects';
import type { EventLogLogger, MalformedHandler } from './types';

export interface NatsRecoveryInput {
  readonly link: NatsLink;
  readonly outbox: Outbox;
  /** This process's subjects. */
  readonly subject: string;
  readonly checkpointPath: string;
  readonly fsync: boolean;
  readonly logger: EventLogLogger;
  readonly onMalformed: MalformedHandler;
  /** Aborted when the log closes: a read stuck on a lost connection must not hold up shutdown. */
  readonly signal: AbortSignal;
}

/** Throws while NATS cannot be read; the caller retries. */
export async function recoverFromStream(input: NatsRecoveryInput): Promise<RecoveryState> {
  const js = input.link.client;
  if (js === undefined) throw new Error('not connected to NATS');
  const stream = await streamIdentity(input.link);
  const { checkpoint, why } = await readCheckpoint(input.checkpointPath);
  let from = initialState();
  let fromSeq: number | undefined;
  if (
    checkpoint !== undefined &&
    stream !== undefined &&
    checkpoint.logId === stream.created &&
    checkpoint.position <= stream.lastSeq
  ) {
    from = checkpoint.state;
    fromSeq = checkpoint.position + 1;
  } else if (checkpoint !== undefined || why !== undefined) {
    input.logger.warn("event log checkpoint not usable; folding this process's whole stream", {
      why: why ?? 'the stream was recreated or is behind the checkpoint',
    });
  }
  const held = input.outbox.unackedFromEarlierRuns();
  const heldIds = new Set(held.map((e) => e.id));
  const seen = new Set<string>();
  const fromStream = liveState(from);
  let position = checkpoint !== undefined && fromSeq !== undefined ? checkpoint.position : 0;
  if (stream !== undefined) {
    for await (const { seq, event } of readStreamRecords(js, {
      subject: input.subject,
      ...(fromSeq !== undefined ? { fromSeq } : {}),
      onMalformed: input.onMalformed,
      signal: input.signal,
    })) {
      // The outbox publishes in order: from this run's first event on, the stream holds this run.
      if (event.id === input.outbox.firstIdOfRun) break;
      fromStream.apply(event);
      position = seq;
      if (heldIds.has(event.id)) seen.add(event.id);
    }
    if (input.signal.aborted) throw new EventLogError('closed', 'the event log was closed during recovery');
    await writeCheckpoint(
      input.checkpointPath,
      { position, logId: stream.created, state: fromStream.state },
      input.fsync,
    ).catch((err: unknown) =>
      input.logger.warn('event log checkpoint not saved; the next start folds more of the stream', {
        err: errorText(err),
      }),
    );
  }
  const previous = liveState(fromStream.state);
  for (const e of held) if (!seen.has(e.id)) previous.apply(e);
  return previous.state;
}

/** The stream's creation time and last sequence, or undefined when it does not exist yet. */
async function streamIdentity(link: NatsLink): Promise<{ created: string; lastSeq: number } | undefined> {
  const js = link.client;
  if (js === undefined) throw new Error('not connected to NATS');
  const jsm = await js.jetstreamManager(false);
  try {
    const info = await jsm.streams.info(STREAM_NAME);
    return { created: info.created, lastSeq: info.state.last_seq };
  } catch (err) {
    if (/stream not found/i.test(errorText(err))) return undefined;
    throw err;
  }
}
