/**
 * The start-up section: how long a server takes to serve (its health port answers, its ports are open)
 * and to finish recovering its embedded event log, with an empty log and with a 1 GiB one. The 1 GiB log
 * is written straight to segment files (realistic connection lifecycles, valid records), then the server
 * starts three times on it: with no checkpoint (the first start after an upgrade: recovery folds all of it
 * in the background, then saves a checkpoint and retention cuts the log to --event-log-max-bytes), again
 * (checkpoint plus tail), and an empty-log start for comparison. docs/benchmarks.md.
 */
import * as fs from 'fs';
import * as path from 'path';
import { eventFactory } from '../src/events';
import { encodeRecord } from '../src/persistence/record';
import { httpGet } from '../test/helpers/http';
import { startServer, type BenchCluster } from './cluster';
import { sleep } from './common';

const GiB = 1024 * 1024 * 1024;
/** The segment size the server uses for its default 256 MiB bound (src/persistence/fileEventLog.ts). */
const SEGMENT_BYTES = 32 * 1024 * 1024;
/** A start that has not recovered after this long counts as failed (1 GiB folds in well under a minute). */
const RECOVERY_TIMEOUT_MS = 600_000;

/** Writes `bytes` of valid records (4-event connection lifecycles) into `dir`; returns the event count. */
export function writeLog(dir: string, bytes: number, serverId: string): number {
  fs.mkdirSync(dir, { recursive: true });
  const f = eventFactory({ serverId });
  // A template of lifecycles, serialised once; records differ by seq (and so by checksum).
  const template: string[] = [];
  for (let i = 1; i <= 1000; i++) {
    const random = BigInt(i) * 7919n;
    const destination = `10.0.${i % 250}.1:10250`;
    const common = { random, destination, agentId: 'node-1', connectID: BigInt(i) };
    const json = (e: unknown): string =>
      JSON.stringify(e, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    template.push(
      json(f.dialRequested({ random, destination, mode: 'grpc', protocol: 'tcp' })),
      json(f.dialEstablished({ ...common, latencyMs: 2 })),
      json(f.connOpened({ ...common, mode: 'grpc' })),
      json(
        f.connClosed({
          ...common,
          bytesToAgent: 512,
          bytesFromAgent: 40_000,
          durationMs: 30,
          closedBy: 'frontend',
          reason: 'close-req',
        }),
      ),
    );
  }
  let seq = 1;
  let total = 0;
  while (total < bytes) {
    const file = path.join(dir, `events-${String(seq).padStart(16, '0')}.jsonl`);
    const chunks: string[] = [];
    let size = 0;
    while (size < SEGMENT_BYTES && total + size < bytes) {
      const line = encodeRecord(seq, template[(seq - 1) % template.length]!);
      chunks.push(line);
      size += Buffer.byteLength(line);
      seq++;
    }
    fs.writeFileSync(file, chunks.join(''));
    total += size;
  }
  return seq - 1;
}

function dirBytes(dir: string): number {
  return fs.readdirSync(dir).reduce((n, name) => n + fs.statSync(path.join(dir, name)).size, 0);
}

interface StartTiming {
  servingMs: number;
  recoveredMs: number;
  healthStatus: number;
}

/** Starts a server on `dataDir`; returns ms to serving (/healthz) and to "event log recovered". */
async function timeStart(c: BenchCluster, name: string, dataDir: string): Promise<StartTiming> {
  const t0 = Date.now();
  const server = await startServer(c, { mode: 'grpc', name, dataDir });
  try {
    const servingMs = Date.now() - t0;
    await server.test.process.waitForOutput(/event log recovered/, RECOVERY_TIMEOUT_MS);
    const recoveredMs = Date.now() - t0;
    const health = await httpGet(`http://127.0.0.1:${server.healthPort}/healthz`, 1000).catch(() => ({
      status: 0,
    }));
    return { servingMs, recoveredMs, healthStatus: health.status };
  } finally {
    await server.stop();
  }
}

export interface StartupResult {
  durationMs: number;
  events: number;
  logBytesBefore: number;
  logBytesAfter: number;
  empty: StartTiming;
  first: StartTiming;
  second: StartTiming;
}

export async function runStartupSection(
  c: BenchCluster,
  log: (m: string) => void,
  logBytes = GiB,
): Promise<StartupResult> {
  const started = Date.now();
  const empty = await timeStart(c, 'startup-empty', path.join(c.dir, 'startup-empty'));
  log(`empty log: serving after ${empty.servingMs} ms, recovered after ${empty.recoveredMs} ms`);
  const dataDir = path.join(c.dir, 'startup-big');
  const eventsDir = path.join(dataDir, 'events');
  const t0 = Date.now();
  const events = writeLog(eventsDir, logBytes, 'startup-big');
  const before = dirBytes(eventsDir);
  log(`wrote ${(before / GiB).toFixed(2)} GiB (${events} events) in ${Date.now() - t0} ms`);
  await sleep(1000);
  const first = await timeStart(c, 'startup-big', dataDir);
  const after = dirBytes(eventsDir);
  log(
    `1 GiB, no checkpoint: serving ${first.servingMs} ms, recovered ${first.recoveredMs} ms; log now ${after} bytes`,
  );
  const second = await timeStart(c, 'startup-big', dataDir);
  log(`1 GiB, with checkpoint: serving ${second.servingMs} ms, recovered ${second.recoveredMs} ms`);
  fs.rmSync(dataDir, { recursive: true, force: true });
  return {
    durationMs: Date.now() - started,
    events,
    logBytesBefore: before,
    logBytesAfter: after,
    empty,
    first,
    second,
  };
}

export function buildStartupRows(r: StartupResult): Record<string, string>[] {
  const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MiB`;
  return [
    {
      scenario: 'start-up to ready, empty embedded log',
      serving: `${r.empty.servingMs} ms`,
      recovered: `${r.empty.recoveredMs} ms`,
      log: '0',
    },
    {
      scenario: 'start-up to ready with a 1 GiB embedded log, no checkpoint (first start)',
      serving: `${r.first.servingMs} ms`,
      recovered: `${r.first.recoveredMs} ms`,
      log: `${mib(r.logBytesBefore)} -> ${mib(r.logBytesAfter)}`,
    },
    {
      scenario: 'start-up to ready with a 1 GiB embedded log, checkpoint + tail',
      serving: `${r.second.servingMs} ms`,
      recovered: `${r.second.recoveredMs} ms`,
      log: mib(r.logBytesAfter),
    },
  ];
}

export const STARTUP_COLUMNS = [
  ['scenario', 'scenario'],
  ['serving', 'serving (healthz 200)'],
  ['recovered', 'event log recovered'],
  ['log', 'log size'],
] as const;
