import { join } from 'node:path';
import { startNatsServer, type NatsServerHandle } from '../helpers/natsServer';
import { eventLogContract } from './contract';

describe('EventLog contract: embedded log (default, under --data-dir)', () => {
  eventLogContract({ eventLog: () => '' });
});

describe('EventLog contract: embedded log (--event-log=file:<dir>)', () => {
  eventLogContract({ eventLog: (dataDir) => `file:${join(dataDir, 'elsewhere')}` });
});

describe('EventLog contract: NATS JetStream', () => {
  let nats: NatsServerHandle;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats?.dispose();
  });
  eventLogContract({ eventLog: () => nats.url });
});
