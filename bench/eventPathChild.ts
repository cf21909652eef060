/**
 * One round of `npm run bench:event-path` for one build, in a process of its own (eventPath.ts starts it):
 *
 *   node bench-build/bench/eventPathChild.js <build dir> <dials> <gap ms>
 *
 * Loads the build's dist/ and does, per dial, exactly the event-log and metric work of a server's dial +
 * echo + close: the four lifecycle events through the recording factory into the embedded file log (written
 * and fsynced in batches, folded into the live counters) and the dial's metric updates. Prints one JSON
 * line: `{event: 'result', usPerDial, published}`, CPU µs of this process per dial (idle pacing included).
 * EVENT_PATH_FILE_TUNING (JSON, e.g. '{"batchDelayMs":20}') is file-log tuning to try, the same for every
 * build.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { emit, errorText, sleep } from './common';

type LifecycleLogModule = typeof import('../src/persistence/lifecycleLog');
type ServerMetricsModule = typeof import('../src/observability/serverMetrics');
type FileTuning = Parameters<LifecycleLogModule['openServerLifecycleLog']>[0]['file'];

/** Dials before the measured ones: JIT, the first log segment, prom-client's label sets. */
const WARMUP_DIALS = 200;
/** The counter that proves the events reached the log (src/persistence/metrics.ts). */
const PUBLISHED = 'konnectivity_ts_event_log_published_total';

/** A build's module, typed as this checkout's: an older build must keep these entry points. */
async function load<T>(root: string, file: string): Promise<T> {
  try {
    return (await import(path.join(root, 'dist', file))) as T;
  } catch (err) {
    throw new Error(`cannot load dist/${file} of ${root}: ${errorText(err)}`, { cause: err });
  }
}

function fileTuning(): FileTuning | undefined {
  const text = process.env['EVENT_PATH_FILE_TUNING'];
  if (!text) return undefined;
  try {
    return JSON.parse(text) as FileTuning;
  } catch (err) {
    throw new Error(`EVENT_PATH_FILE_TUNING is not JSON: ${JSON.stringify(text)}`, { cause: err });
  }
}

async function run(root: string, dials: number, gapMs: number): Promise<void> {
  const { openServerLifecycleLog } = await load<LifecycleLogModule>(root, 'persistence/lifecycleLog.js');
  const { ServerMetrics } = await load<ServerMetricsModule>(root, 'observability/serverMetrics.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eventpath-'));
  try {
    const metrics = new ServerMetrics();
    const quiet = { info() {}, warn() {}, error() {} };
    const file = fileTuning();
    const lifecycle = await openServerLifecycleLog({
      eventLog: '',
      dataDir: dir,
      registry: metrics.registry,
      logger: quiet,
      serverId: 'bench-server',
      ...(file ? { file } : {}),
    });
    await lifecycle.recovered;
    const events = lifecycle.events;
    const oneDial = (i: number): void => {
      const key = { random: BigInt(i) * 7919n + 123456789n, destination: '127.0.0.1:10250' };
      const connectID = BigInt(i + 1);
      metrics.actorStarted('connection');
      metrics.setPendingDials(1);
      events.dialRequested({ ...key, mode: 'http-connect', protocol: 'tcp', frontend: 'unix' });
      metrics.packet('to_agent', 'DIAL_REQ');
      metrics.packet('from_agent', 'DIAL_RSP');
      metrics.observeDialDuration(0.001);
      events.dialEstablished({ ...key, agentId: 'agent-1', connectID, latencyMs: 1 });
      metrics.setPendingDials(0);
      metrics.setEstablishedConnections(1);
      events.connOpened({ ...key, agentId: 'agent-1', connectID, mode: 'http-connect' });
      metrics.packet('to_agent', 'DATA');
      metrics.packet('from_agent', 'DATA');
      metrics.packet('to_agent', 'CLOSE_REQ');
      metrics.packet('from_agent', 'CLOSE_RSP');
      metrics.connectionClosed('frontend_close', 0.002);
      events.connClosed({
        ...key,
        agentId: 'agent-1',
        connectID,
        bytesToAgent: 64,
        bytesFromAgent: 64,
        durationMs: 2,
        closedBy: 'frontend',
        reason: 'close-req',
      });
      metrics.setEstablishedConnections(0);
      metrics.actorStopped('connection');
    };
    for (let i = 0; i < WARMUP_DIALS; i++) oneDial(i);
    await lifecycle.log.flush();
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < dials; i++) {
      oneDial(1000 + i);
      // Paced, so that the log batches as under sequential dials, not as under a flood.
      await sleep(gapMs);
    }
    await lifecycle.log.flush();
    const cpu = process.cpuUsage(cpu0);
    const published = (await metrics.registry.getSingleMetric(PUBLISHED)?.get())?.values[0]?.value;
    await lifecycle.close();
    if (published === undefined) throw new Error(`${PUBLISHED} is missing: the events reached no log`);
    emit({ event: 'result', usPerDial: (cpu.user + cpu.system) / dials, published });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const [root, dials, gapMs] = process.argv.slice(2);
run(root ?? '', Number(dials), Number(gapMs)).then(
  () => process.exit(0),
  (err: unknown) => {
    emit({ event: 'error', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.exit(1);
  },
);
