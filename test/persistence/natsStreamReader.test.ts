/**
 * One-shot reads of the event stream (`konnectivity-events tail|audit`, recovery) end at the last
 * matching message stored when the read starts, whatever the consumer's pending count says and however
 * fast new events keep arriving.
 */
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { eventFactory, type LifecycleEvent } from '../../src/events';
import { readStream } from '../../src/persistence/natsStreamReader';
import { ALL_EVENTS_SUBJECT, processSubjects, STREAM_NAME, subjectFor } from '../../src/persistence/subjects';
import type { EventProcess } from '../../src/persistence/types';
import { startNatsServer, type NatsServerHandle } from '../helpers/natsServer';
import { collect, manyEvents, serverFactory, waitFor } from './fixtures';

jest.setTimeout(60_000);

const busy: EventProcess = { kind: 'server', serverId: 'busy' };
const quiet: EventProcess = { kind: 'server', serverId: 'quiet' };

describe('reading the NATS event stream once', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let js: JetStreamClient;
  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: STREAM_NAME, subjects: [ALL_EVENTS_SUBJECT] });
    js = jetstream(nc);
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.dispose();
  });

  async function publish(process: EventProcess, events: LifecycleEvent[]): Promise<void> {
    await Promise.all(
      events.map((e) => js.publish(subjectFor(process, e), JSON.stringify(e), { msgID: e.id })),
    );
  }

  it('given events keep arriving during the read, when read with --since inside the stream, then it ends at the last event stored when it started', async () => {
    const f = eventFactory({ serverId: 'busy' });
    await publish(busy, manyEvents(f, 500));
    // --since is matched against the time NATS stored each message.
    const since = new Date();
    const late = manyEvents(f, 3000);
    await publish(busy, late);
    let writing = true;
    let writer: Promise<void> | undefined;
    const read: LifecycleEvent[] = [];
    try {
      for await (const e of readStream(js, { subject: ALL_EVENTS_SUBJECT, since })) {
        read.push(e);
        // From the first event on (the read has begun), the writer never lets the stream rest.
        writer ??= (async () => {
          while (writing) await publish(busy, manyEvents(f, 50));
        })();
      }

      expect(read.map((e) => e.id)).toEqual(late.map((e) => e.id));
    } finally {
      writing = false;
      await writer;
    }
  });

  it('given the last event on a subject is older than --since, when read, then it ends with nothing', async () => {
    await publish(quiet, manyEvents(serverFactory('quiet'), 20));
    // NATS stamps messages in nanoseconds, a Date has milliseconds: a `since` in the same millisecond as the
    // last quiet message would still include it. One millisecond later, and the clock past it, is after it.
    const since = new Date(Date.now() + 1);
    await waitFor(() => Date.now() > since.getTime(), 'the clock to pass --since');
    await publish(busy, manyEvents(serverFactory('busy'), 20));

    const read = await collect(readStream(js, { subject: processSubjects(quiet), since }));

    expect(read).toEqual([]);
  });

  it('given a subject whose last event is followed by other subjects, when read whole, then it ends at that event', async () => {
    const events = manyEvents(serverFactory('quiet'), 30);
    await publish(quiet, events);
    await publish(busy, manyEvents(serverFactory('busy'), 200));

    const read = await collect(readStream(js, { subject: processSubjects(quiet) }));

    expect(read.slice(-30).map((e) => e.id)).toEqual(events.map((e) => e.id));
  });

  it('given no event on the subject, when read, then it ends with nothing', async () => {
    const read = await collect(
      readStream(js, { subject: processSubjects({ kind: 'agent', agentId: 'nobody' }) }),
    );

    expect(read).toEqual([]);
  });
});
