#!/usr/bin/env node
/**
 * `npm run bench:inspector`: the inspector's cost (scripts/bench/inspector.js), as a table row and
 * bench-results/inspector-latest.json. `--quick` for a smoke run.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { MiB, ROOT_ENV, STATS_DIR_ENV } = require('./bench/common');
const { killAll } = require('./bench/processes');
const { runInspectorSection } = require('./bench/inspector');

const QUICK = process.argv.includes('--quick');
const CONFIG = QUICK
  ? { warmupRounds: 1, rounds: 2, bytes: 64 * MiB, capMs: 10_000, dials: 500, inFlight: 250 }
  : { warmupRounds: 1, rounds: 5, bytes: 256 * MiB, capMs: 20_000, dials: 2000, inFlight: 500 };

const pct = (r) => `${((r - 1) * 100).toFixed(1)} %`;

async function main() {
  process.env[ROOT_ENV] = path.resolve(__dirname, '..');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'konnectivity-bench-inspector-'));
  process.env[STATS_DIR_ENV] = path.join(dir, 'stats');
  fs.mkdirSync(process.env[STATS_DIR_ENV]);
  const { generateTlsMaterial } = require(path.join(process.env[ROOT_ENV], 'dist/tools/certs.js'));
  const tls = await generateTlsMaterial(path.join(dir, 'tls'));
  try {
    const out = await runInspectorSection({
      dir,
      tls,
      cfg: CONFIG,
      log: (m) => console.log(`inspector ${m}`),
    });
    const s = out.summary;
    console.log(
      '\n| variant | download MB/s | dials/s | CPU ms per dial | vs off (download, dials/s, CPU per dial) |',
    );
    console.log('|---|---|---|---|---|');
    for (const k of ['off', 'idle', 'viewed']) {
      const r = out.ratios[k];
      console.log(
        `| ${k} | ${s[k].mbps.toFixed(0)} | ${s[k].dialsPerSec.toFixed(0)} | ${s[k].cpuMsPerDial.toFixed(2)} | ` +
          `${r ? `${pct(r.mbps)}, ${pct(r.dialsPerSec)}, ${pct(r.cpuMsPerDial)}` : '-'} |`,
      );
    }
    const results = path.resolve(__dirname, '../bench-results');
    fs.mkdirSync(results, { recursive: true });
    fs.writeFileSync(
      path.join(results, 'inspector-latest.json'),
      JSON.stringify({ startedAt: new Date().toISOString(), cores: os.cpus().length, ...out }, null, 2),
    );
  } finally {
    killAll();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`bench:inspector: ${err.stack || err}`);
  killAll();
  process.exit(1);
});
