/**
 * Preloaded (NODE_OPTIONS="--expose-gc --require bench-build/bench/gcHook.js") into the processes whose
 * memory the bench measures. On SIGUSR2 it runs a full garbage collection and writes
 * `process.memoryUsage()` to `$KONNECTIVITY_BENCH_STATS_DIR/mem-<pid>.json`, so "memory per idle
 * connection" compares live memory rather than how much garbage the dials happened to leave behind.
 * Nothing else changes in the process; neither binary uses SIGUSR2.
 */
import * as fs from 'fs';
import * as path from 'path';

const dir = process.env.KONNECTIVITY_BENCH_STATS_DIR;
const collect = (globalThis as { gc?: () => void }).gc;
if (dir && typeof collect === 'function') {
  let seq = 0;
  process.on('SIGUSR2', () => {
    collect();
    const file = path.join(dir, `mem-${process.pid}.json`);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify({ seq: ++seq, ...process.memoryUsage() }));
    fs.renameSync(`${file}.tmp`, file);
  });
}
