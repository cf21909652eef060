/**
 * The lifecycle log a server runs with: it records from the first moment, recovery runs in the background
 * and, when it finishes, closes what the previous run left open and adds that run's counters to the live
 * ones, whatever this run recorded meanwhile.
 */
import { Registry } from 'prom-client';
import { openServerLifecycleLog } from '../../src/persistence/lifecycleLog';
import { recordingLogger, tempDir } from './fixtures';

describe('server lifecycle log', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await dir.remove();
  });
  const open = () =>
    openServerLifecycleLog({
      eventLog: '',
      dataDir: dir.path,
      serverId: 'lc-1',
      registry: new Registry(),
      logger: recordingLogger(),
    });

  it('given a run that crashed with a connection open, when the next run records before recovery ends, then the counters add up and the crashed connection is closed once', async () => {
    const first = await open();
    await first.recovered;
    first.events.serverStarted({ mode: 'grpc', serverCount: 1 });
    const conn = { random: 11n, destination: '10.0.0.1:443', agentId: 'a1', connectID: 1n };
    first.events.dialRequested({ random: 11n, destination: conn.destination, mode: 'grpc', protocol: 'tcp' });
    first.events.dialEstablished({ ...conn, latencyMs: 1 });
    first.events.connOpened({ ...conn, mode: 'grpc' });
    // A crash: the log is closed without server.stopped and with the connection open.
    await first.log.close();

    const second = await open();
    second.events.serverStarted({ mode: 'grpc', serverCount: 1 });
    second.events.dialRequested({ random: 22n, destination: '10.0.0.2:443', mode: 'grpc', protocol: 'tcp' });
    const closed = await second.recovered;

    expect(closed).toBe(2); // the connection and the run
    expect(second.counters.dialsRequested).toBe(2);
    expect(second.counters.connectionsOpened).toBe(1);
    expect(second.counters.connectionsClosed).toBe(1);
    await second.close();

    const third = await open();
    await third.recovered;
    expect(third.counters.connectionsClosed).toBe(1);
    expect(third.counters.dialsRequested).toBe(2);
    await third.close();
  });
});
