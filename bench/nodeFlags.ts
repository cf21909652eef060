/**
 * `npm run bench:node-flags`: what Node/V8 flags on the server and agent change, compared in the same run
 * (the machine is shared, so only interleaved rounds compare fairly):
 *
 *   npm run bench:node-flags -- --variants='base=--initial-old-space-size=64;small=--max-semi-space-size=2'
 *        [--mode=http-connect|grpc] [--rounds=6] [--mib=256] [--tunnels=1000]
 *
 * A variant is `name=<node flags>`; variants are separated by `;`. Each variant's server and agent run as
 * `node <flags> bin/konnectivity-<who>` (an explicit node ignores the launcher's own first line, so the
 * flags given are all the process gets). In each round every variant, the order alternating, gets a fresh
 * server + agent (default embedded event log), one download of `--mib` MiB through them (server + agent CPU
 * per MiB, user + system from /proc), then `--tunnels` concurrent tunnels opened 500 in flight: CPU per
 * dial while opening and the RSS of both processes while all are open, after the download has grown their
 * heaps (as in `npm run bench`, where the peak is read after the throughput scenarios). Prints each round and
 * one JSON object: per variant, the medians, and the median over rounds of each variant's ratio to the first
 * variant of the same round.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Mode } from '../test/e2e/cluster';
import { stopAllProcesses } from '../test/helpers/processes';
import { makeTlsDir } from '../test/helpers/tls';
import { UsageError, parseOptions, type OptionSpec } from './cliOptions';
import { runTool } from './runTool';
import { startAgent, startServer } from './cluster';
import { MiB, STATS_DIR_ENV, median, wrapperBinDir } from './common';
import { addr, concurrency, cpuOf, listen, runClient, startTarget } from './scenarios';

const OPTIONS = {
  variants: { kind: 'string', default: '' },
  mode: { kind: 'string', default: 'http-connect', oneOf: ['http-connect', 'grpc'] },
  rounds: { kind: 'number', default: 6, min: 1 },
  mib: { kind: 'number', default: 256, min: 1 },
  tunnels: { kind: 'number', default: 1000, min: 1 },
} satisfies Record<string, OptionSpec>;

/** Tunnels dialed at once while opening, as in the bench's concurrency scenario. */
const IN_FLIGHT = 500;
const DOWNLOAD_CAP_MS = 60_000;

/** What the download client reports (bench/client.ts). */
interface Transfer {
  mbps: number;
  bytes: number;
}

interface Variant {
  name: string;
  flags: string[];
}

interface Round {
  mbps: number;
  cpuMsPerMiB: number;
  rssAtPeakMB: number;
  cpuMsPerDial: number;
}

function parseVariants(text: string): Variant[] {
  const variants = text
    .split(';')
    .map((v) => v.trim())
    .filter(Boolean)
    .map((v) => {
      const eq = v.indexOf('=');
      if (eq <= 0) throw new UsageError(`--variants: "${v}" is not name=<node flags>`);
      return {
        name: v.slice(0, eq),
        flags: v
          .slice(eq + 1)
          .split(/\s+/)
          .filter(Boolean),
      };
    });
  if (variants.length < 2) throw new UsageError('--variants: give at least two, separated by ";"');
  if (new Set(variants.map((v) => v.name)).size !== variants.length) {
    throw new UsageError('--variants: names must differ');
  }
  return variants;
}

async function main(): Promise<void> {
  const { options: opts } = parseOptions(process.argv.slice(2), OPTIONS);
  const variants = parseVariants(opts.variants);
  const mode = opts.mode as Mode;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeflags-'));
  process.env[STATS_DIR_ENV] = path.join(dir, 'stats');
  fs.mkdirSync(process.env[STATS_DIR_ENV]);
  const tls = await makeTlsDir();
  const c = { tls, dir };
  const rounds = new Map<string, Round[]>(variants.map((v) => [v.name, []]));
  const root = path.join(__dirname, '..', '..', 'bin');
  const binDirs = new Map(
    variants.map((v) => [v.name, wrapperBinDir(path.join(dir, `bin-${v.name}`), root, () => v.flags)]),
  );
  const target = await startTarget('target');
  try {
    const ports = await listen(target);
    for (let r = 0; r < opts.rounds; r++) {
      for (const v of r % 2 ? [...variants].reverse() : variants) {
        const binDir = binDirs.get(v.name)!;
        const server = await startServer(c, { mode, name: `nf-${v.name}-${r}`, binDir });
        const agent = await startAgent(c, server, { name: `nf-${v.name}-${r}-agent`, binDir });
        try {
          const pids = { server: server.pid, agent: agent.pid };
          const via = { kind: mode, socketPath: server.socketPath };
          const cpu0 = cpuOf(pids);
          const d = (await runClient(
            'download',
            { via, address: addr(ports.source), bytes: opts.mib * MiB, capMs: DOWNLOAD_CAP_MS },
            DOWNLOAD_CAP_MS * 2,
          )) as unknown as Transfer;
          const cpu = cpuOf(pids, cpu0);
          const k = await concurrency(
            { via, pids, target, log: () => undefined },
            { n: opts.tunnels, inFlight: IN_FLIGHT },
          );
          const rss = (k.atPeak.memory.server?.rss ?? NaN) + (k.atPeak.memory.agent?.rss ?? NaN);
          const round: Round = {
            mbps: d.mbps,
            cpuMsPerMiB: ((cpu.server ?? NaN) + (cpu.agent ?? NaN)) / (d.bytes / MiB),
            rssAtPeakMB: rss / 1e6,
            cpuMsPerDial: ((k.openCpuMs.server ?? NaN) + (k.openCpuMs.agent ?? NaN)) / k.ok,
          };
          rounds.get(v.name)!.push(round);
          process.stderr.write(`round ${r} ${v.name}: ${JSON.stringify(round)}\n`);
        } finally {
          await agent.stop();
          await server.stop();
        }
      }
    }
    const first = rounds.get(variants[0]!.name)!;
    const keys = ['mbps', 'cpuMsPerMiB', 'rssAtPeakMB', 'cpuMsPerDial'] as const;
    const out: Record<string, object> = {};
    for (const v of variants) {
      const rs = rounds.get(v.name)!;
      out[v.name] = {
        flags: v.flags.join(' '),
        median: Object.fromEntries(keys.map((k) => [k, median(rs.map((x) => x[k]))])),
        pairedRatioToFirst: Object.fromEntries(
          keys.map((k) => [k, median(rs.map((x, i) => x[k] / first[i]![k]))]),
        ),
      };
    }
    const summary = {
      date: new Date().toISOString(),
      loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
      mode,
      rounds: opts.rounds,
      mib: opts.mib,
      tunnels: opts.tunnels,
      variants: out,
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    await target.stop();
    await stopAllProcesses();
    await tls.cleanup();
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

runTool('bench:node-flags', main);
