/**
 * `npm run bench:inspector`: the inspector's cost (bench/inspector.ts), as a table row and
 * bench-results/inspector-latest.json. `--quick` for a smoke run.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stopAllProcesses } from '../test/helpers/processes';
import { makeTlsDir } from '../test/helpers/tls';
import { MiB, STATS_DIR_ENV } from './common';
import { runInspectorSection } from './inspector';

const QUICK = process.argv.includes('--quick');
const ROUNDS = Number(
  /^--rounds=(\d+)$/.exec(process.argv.find((a) => a.startsWith('--rounds=')) ?? '')?.[1] ?? 0,
);
const CONFIG = {
  ...(QUICK
    ? { warmupRounds: 1, rounds: 2, bytes: 64 * MiB, capMs: 10_000, dials: 500, inFlight: 250 }
    : { warmupRounds: 1, rounds: 5, bytes: 256 * MiB, capMs: 20_000, dials: 2000, inFlight: 500 }),
  ...(ROUNDS > 0 ? { rounds: ROUNDS } : {}),
};
/** The repository root, from bench-build/bench/inspectorMain.js. */
const ROOT = path.join(__dirname, '../..');

const pct = (r: number): string => `${((r - 1) * 100).toFixed(1)} %`;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'konnectivity-bench-inspector-'));
  process.env[STATS_DIR_ENV] = path.join(dir, 'stats');
  fs.mkdirSync(process.env[STATS_DIR_ENV]);
  const tls = await makeTlsDir();
  try {
    const out = await runInspectorSection({
      c: { dir, tls },
      cfg: CONFIG,
      log: (m) => console.log(`inspector ${m}`),
    });
    const s = out.summary;
    console.log(
      '\n| variant | download MB/s | CPU ms per MiB | dials/s | CPU ms per dial | ' +
        'vs off (download, CPU per MiB, dials/s, CPU per dial) |',
    );
    console.log('|---|---|---|---|---|---|');
    for (const k of ['off', 'idle', 'viewed'] as const) {
      const r = out.ratios[k];
      console.log(
        `| ${k} | ${s[k].mbps.toFixed(0)} | ${s[k].cpuMsPerMiB.toFixed(2)} | ${s[k].dialsPerSec.toFixed(0)} | ` +
          `${s[k].cpuMsPerDial.toFixed(2)} | ` +
          `${r ? `${pct(r.mbps)}, ${pct(r.cpuMsPerMiB)}, ${pct(r.dialsPerSec)}, ${pct(r.cpuMsPerDial)}` : '-'} |`,
      );
    }
    const results = path.join(ROOT, 'bench-results');
    fs.mkdirSync(results, { recursive: true });
    fs.writeFileSync(
      path.join(results, 'inspector-latest.json'),
      JSON.stringify({ startedAt: new Date().toISOString(), cores: os.cpus().length, ...out }, null, 2),
    );
  } finally {
    await stopAllProcesses();
    await tls.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:inspector: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  void stopAllProcesses().finally(() => process.exit(1));
});
