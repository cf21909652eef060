/**
 * `npm run bench:floor`: how much of our cost per dial, per MiB and per idle connection is Node's own.
 * Side by side in one run, for each frontend mode: `direct` (client straight to the target), `floor` (the
 * bare tunnel in bench/floor/: node:net, node:tls, node:http2 and our packet codec, nothing else),
 * `ours-off` (bin/konnectivity-server + agent, `--event-log=off`) and `ours-log` (the default embedded
 * event log).
 *
 *   npm run bench:floor -- [--rounds=5] [--dials=500] [--idle=2000] [--in-flight=500] [--mib=256]
 *        [--settle-ms=20000] [--modes=http-connect,grpc] [--variants=direct,floor,ours-off,ours-log]
 *        [--cpu-prof=<dir>] [--keep]
 *
 * `--settle-ms` is the quiet spell before each idle-memory reading, as long as the main benchmark's: what
 * a quiet process holds, after its heap trim (src/heapTrim.ts), not what a burst left in it a second ago.
 *
 * Each round starts every variant afresh, in an order rotating from round to round, and runs
 * floorRound.ts on it (warm-up, idle memory + CPU per dial at `--in-flight`, sequential dials, download);
 * the figures are medians over the rounds. Prints a table and writes bench-results/floor-latest.json
 * (floor-profiled.json with --cpu-prof).
 * `--cpu-prof` runs the floor's and ours' processes under `node --cpu-prof` (summarise the profiles with
 * `npm run profile:summary`); profiled CPU figures are not comparable with unprofiled ones.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Mode } from '../test/e2e/cluster';
import { stopAllProcesses } from '../test/helpers/processes';
import { makeTlsDir } from '../test/helpers/tls';
import { rotated } from './builds';
import { UsageError, cliPath, parseOptions, type OptionSpec } from './cliOptions';
import { KiB, STATS_DIR_ENV, errorText, fdLimitProblem, median } from './common';
import { VARIANTS, startStack, type VariantName } from './floorStack';
import { measureRound, type RoundFigures } from './floorRound';
import { formatTable, type Columns } from './report';
import { runTool } from './runTool';
import { startTarget } from './scenarios';

const ROOT = path.join(__dirname, '../..');
const MODES: readonly Mode[] = ['http-connect', 'grpc'];

const OPTIONS = {
  rounds: { kind: 'number', default: 5, min: 1 },
  dials: { kind: 'number', default: 500, min: 1 },
  idle: { kind: 'number', default: 2000, min: 1 },
  'in-flight': { kind: 'number', default: 500, min: 1 },
  mib: { kind: 'number', default: 256, min: 1 },
  'settle-ms': { kind: 'number', default: 20_000, min: 0 },
  modes: { kind: 'string', default: MODES.join(',') },
  variants: { kind: 'string', default: VARIANTS.join(',') },
  'cpu-prof': { kind: 'string', default: '' },
  keep: { kind: 'flag' },
} satisfies Record<string, OptionSpec>;

function listOption<T extends string>(text: string, allowed: readonly T[], what: string): T[] {
  const items = text.split(',').map((s) => s.trim()) as T[];
  for (const i of items) {
    if (!allowed.includes(i)) throw new UsageError(`--${what} takes ${allowed.join(',')}, got ${i}`);
  }
  return items;
}

type Summary = Record<string, number | null>;

/** Median of a figure over rounds, ignoring rounds that could not produce it. */
function med(
  rounds: readonly RoundFigures[],
  f: (r: RoundFigures) => number | null | undefined,
): number | null {
  const values = rounds.map(f).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return values.length ? median(values) : null;
}

function summarize(rounds: readonly RoundFigures[]): Summary {
  const idle = (who: string, key: 'rss' | 'heapUsed' | 'heapTotal') =>
    med(rounds, (r) => {
      const v = r.idle[who]?.[key];
      return v === null || v === undefined ? null : v / KiB;
    });
  return {
    seqCpuMsPerDial: med(rounds, (r) => r.seqCpuMsPerDial),
    dialEchoP50Ms: med(rounds, (r) => r.dialEchoP50Ms),
    burstCpuMsPerDial: med(rounds, (r) => r.burstCpuMsPerDial),
    downloadMBps: med(rounds, (r) => r.downloadMBps),
    cpuMsPerMiB: med(rounds, (r) => r.cpuMsPerMiB),
    clientCpuMsPerDial: med(rounds, (r) => r.clientCpuMsPerDial),
    clientCpuMsPerMiB: med(rounds, (r) => r.clientCpuMsPerMiB),
    serverRssKiB: idle('server', 'rss'),
    agentRssKiB: idle('agent', 'rss'),
    serverHeapUsedKiB: idle('server', 'heapUsed'),
    agentHeapUsedKiB: idle('agent', 'heapUsed'),
    serverHeapTotalKiB: idle('server', 'heapTotal'),
    agentHeapTotalKiB: idle('agent', 'heapTotal'),
    failed: rounds.reduce((a, r) => a + r.failed, 0),
  };
}

const COLUMNS: Columns = [
  ['mode', 'mode'],
  ['variant', 'variant'],
  ['seqCpuMsPerDial', 'CPU ms/dial seq'],
  ['burstCpuMsPerDial', 'CPU ms/dial @in-flight'],
  ['dialEchoP50Ms', 'dial+echo p50 ms'],
  ['downloadMBps', 'download MB/s'],
  ['vsDirect', 'x direct'],
  ['cpuMsPerMiB', 'CPU ms/MiB'],
  ['clientCpuMsPerMiB', 'client CPU ms/MiB'],
  ['rssKiB', 'RSS KiB/conn srv/agt'],
  ['heapUsedKiB', 'heapUsed KiB/conn srv/agt'],
  ['heapTotalKiB', 'heapTotal KiB/conn srv/agt'],
  ['failed', 'failed'],
];

function tableRows(mode: Mode, results: Map<VariantName, Summary>): Record<string, unknown>[] {
  const f = (v: number | null | undefined, digits = 2): string =>
    typeof v === 'number' ? v.toFixed(digits) : '-';
  const direct = results.get('direct')?.downloadMBps ?? null;
  return [...results].map(([variant, s]) => ({
    mode,
    variant,
    seqCpuMsPerDial: f(s.seqCpuMsPerDial, 3),
    burstCpuMsPerDial: f(s.burstCpuMsPerDial, 3),
    dialEchoP50Ms: f(s.dialEchoP50Ms),
    downloadMBps: f(s.downloadMBps, 0),
    vsDirect:
      direct && s.downloadMBps !== null && s.downloadMBps !== undefined ? f(s.downloadMBps / direct) : '-',
    cpuMsPerMiB: f(s.cpuMsPerMiB),
    clientCpuMsPerMiB: f(s.clientCpuMsPerMiB),
    rssKiB: `${f(s.serverRssKiB, 1)} / ${f(s.agentRssKiB, 1)}`,
    heapUsedKiB: `${f(s.serverHeapUsedKiB, 1)} / ${f(s.agentHeapUsedKiB, 1)}`,
    heapTotalKiB: `${f(s.serverHeapTotalKiB, 1)} / ${f(s.agentHeapTotalKiB, 1)}`,
    failed: s.failed,
  }));
}

async function main(): Promise<void> {
  const { options: o } = parseOptions(process.argv.slice(2), OPTIONS);
  const modes = listOption(o.modes, MODES, 'modes');
  const variants = listOption(o.variants, VARIANTS, 'variants');
  const cpuProf = o['cpu-prof'] ? cliPath(o['cpu-prof']) : '';
  const fdProblem = fdLimitProblem(o.idle, 'tunnels');
  if (fdProblem) throw new UsageError(fdProblem);
  const cfg = {
    dials: o.dials,
    idle: o.idle,
    inFlight: o['in-flight'],
    mib: o.mib,
    settleMs: o['settle-ms'],
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floor-'));
  process.env[STATS_DIR_ENV] = path.join(dir, 'stats');
  fs.mkdirSync(process.env[STATS_DIR_ENV]);
  const tls = await makeTlsDir();
  const log = (msg: string): void => void process.stderr.write(`${msg}\n`);
  const started = {
    date: new Date().toISOString(),
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
  const out: Record<string, Record<string, { summary: Summary; rounds: RoundFigures[] }>> = {};
  const tables: string[] = [];
  try {
    for (const mode of modes) {
      const target = await startTarget(`target (${mode})`);
      const rounds = new Map<VariantName, RoundFigures[]>(variants.map((v) => [v, []]));
      try {
        for (let i = 0; i < o.rounds; i++) {
          for (const name of rotated(variants, i)) {
            const stackDir = fs.mkdtempSync(path.join(dir, `${name}-`));
            const stack = await startStack(name, { mode, tls, dir: stackDir, cpuProf });
            try {
              const r = await measureRound(stack, target, cfg, log);
              rounds.get(name)!.push(r);
              log(`${mode} round ${i + 1}/${o.rounds} ${name}: ${JSON.stringify(r)}`);
            } finally {
              await stack.stop();
            }
          }
        }
      } finally {
        await target.stop();
      }
      const summaries = new Map<VariantName, Summary>();
      out[mode] = {};
      for (const [name, rs] of rounds) {
        summaries.set(name, summarize(rs));
        out[mode][name] = { summary: summaries.get(name)!, rounds: rs };
      }
      tables.push(formatTable(tableRows(mode, summaries), COLUMNS));
    }
    const ended = {
      date: new Date().toISOString(),
      loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    };
    const result = {
      started,
      ended,
      cpus: os.cpus().length,
      node: process.version,
      config: { ...cfg, rounds: o.rounds, cpuProf: !!cpuProf },
      results: out,
    };
    // A profiled run's figures are not the floor's: they must not replace the last real run's file.
    const file = cpuProf ? 'floor-profiled.json' : 'floor-latest.json';
    fs.mkdirSync(path.join(ROOT, 'bench-results'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'bench-results', file), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(
      `\nNode's floor: medians of ${o.rounds} rounds; started ${started.date} (load ${started.loadavg.join(' ')}), ` +
        `ended ${ended.date} (load ${ended.loadavg.join(' ')})\n\n${tables.join('\n\n')}\n\n` +
        `wrote bench-results/${file}\n`,
    );
  } finally {
    await stopAllProcesses().catch((err: unknown) => log(errorText(err)));
    await tls.cleanup();
    if (o.keep) log(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    if (cpuProf) log(`profiles under ${cpuProf}`);
  }
}

runTool('bench:floor', main);
