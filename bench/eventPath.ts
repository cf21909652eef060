/**
 * `npm run bench:event-path`: CPU of what a server spends per dial outside its actors and sockets: the four
 * lifecycle events of a dial + echo + close (made by the recording factory, appended to the embedded file
 * log, written and fsynced in batches, folded into the live counters) and the metric updates of that dial
 * (stream packet counts, live actors, pending/established gauges, dial latency, the close). Builds are
 * compared in interleaved rounds, each build in a fresh process (eventPathChild.ts):
 *
 *   npm run bench:event-path -- [--roots=before=/tmp/old-checkout,after=.] [--dials=3000] [--rounds=7]
 *        [--gap-ms=1]
 *
 * Dials are paced one per `--gap-ms` so the log batches as it does under sequential dials, not as under a
 * flood. Prints the median over rounds of CPU µs per dial (user + system of the process, idle pacing
 * included, which is the same for every build) and each round's figures.
 */
import * as os from 'os';
import { stopAllProcesses } from '../test/helpers/processes';
import { parseBuilds, rotated, type Build } from './builds';
import { UsageError, parseOptions, type OptionSpec } from './cliOptions';
import { median } from './common';
import { LineChild } from './lineChild';

/** Start-up, the log's open and the warm-up: seconds on a loaded machine. */
const CHILD_START_MS = 60_000;
/**
 * A paced dial costs its gap plus well under a millisecond of work, but a timer on 2 loaded cores fires
 * late: allow 20 ms per dial before calling a round hung.
 */
const PER_DIAL_ALLOWANCE_MS = 20;

const OPTIONS = {
  roots: { kind: 'string', default: '' },
  dials: { kind: 'number', default: 3000, min: 1 },
  rounds: { kind: 'number', default: 7, min: 1 },
  'gap-ms': { kind: 'number', default: 1, min: 0 },
} satisfies Record<string, OptionSpec>;

interface ChildResult {
  usPerDial: number;
  published: number;
}

async function runRound(build: Build, dials: number, gapMs: number): Promise<ChildResult> {
  const child = new LineChild('eventPathChild.js', [build.dir, String(dials), String(gapMs)], {
    name: `event-path ${build.name}`,
  });
  try {
    const msg = await child.next(
      (m) => m.event === 'result' || m.event === 'error',
      CHILD_START_MS + dials * (gapMs + PER_DIAL_ALLOWANCE_MS),
    );
    if (msg.event === 'error') throw new Error(`${build.name}: ${String(msg.error)}`);
    return { usPerDial: Number(msg.usPerDial), published: Number(msg.published) };
  } finally {
    await child.stop();
  }
}

async function main(): Promise<void> {
  const { options: opts } = parseOptions(process.argv.slice(2), OPTIONS);
  const builds = parseBuilds(opts.roots, [
    'dist/persistence/lifecycleLog.js',
    'dist/observability/serverMetrics.js',
  ]);
  const gapMs = opts['gap-ms'];
  const results = new Map<string, number[]>(builds.map((b) => [b.name, []]));
  for (let round = 0; round < opts.rounds; round++) {
    for (const build of rotated(builds, round)) {
      const r = await runRound(build, opts.dials, gapMs);
      results.get(build.name)!.push(r.usPerDial);
      process.stderr.write(
        `round ${round} ${build.name}: ${r.usPerDial.toFixed(1)} us/dial, ${r.published} events\n`,
      );
    }
  }
  const summary = {
    date: new Date().toISOString(),
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    dials: opts.dials,
    rounds: opts.rounds,
    gapMs,
    medianUsPerDial: Object.fromEntries(builds.map((b) => [b.name, median(results.get(b.name)!)])),
    rounds_us: Object.fromEntries(results),
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

// The harness kills every process it started when this one exits (test/helpers/processes.ts).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => process.exit(130));
}

main().then(
  () => stopAllProcesses().then(() => process.exit(0)),
  (err: unknown) => {
    const usage = err instanceof UsageError;
    console.error(
      `bench:event-path: ${usage ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    void stopAllProcesses().finally(() => process.exit(usage ? 2 : 1));
  },
);
