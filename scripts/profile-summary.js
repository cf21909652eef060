#!/usr/bin/env node
/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`) by where the time goes:
 *
 *   node scripts/profile-summary.js <file.cpuprofile> [--per=1000] [--top=30]
 *
 * Prints self time per function and per file, and inclusive time per file (a sample counts once for every
 * file on its stack), in ms and in % of busy (non-idle) time. Files of this project are shown as
 * `src/...` (dist/x.js -> src/x.ts), dependencies as `node_modules/<package>`, Node's own as `node:...`.
 * With `--per=N` every figure is also divided by N (e.g. the number of dials the profile covers) in µs.
 * With `--callers=<file>` (e.g. `node_modules/prom-client`) it also prints the time spent inside that file
 * attributed to the nearest function of this project that called into it (who pays for a dependency).
 */
'use strict';
const fs = require('fs');

function fileOf(url) {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return `node_modules/${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return `src/${url.slice(dist + '/dist/'.length).replace(/\.js$/, '.ts')}`;
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\//, '');
}

function main() {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) throw new Error('usage: profile-summary.js <file.cpuprofile> [--per=N] [--top=N]');
  const opt = (name, dflt) => {
    const a = args.find((x) => x.startsWith(`--${name}=`));
    return a ? Number(a.split('=')[1]) : dflt;
  };
  const per = opt('per', 0);
  const top = opt('top', 30);
  const callersOf = (args.find((x) => x.startsWith('--callers=')) || '').slice('--callers='.length);
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children || []) parent.set(c, n.id);

  const sampleUs = new Map();
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i];
    sampleUs.set(id, (sampleUs.get(id) || 0) + (prof.timeDeltas[i + 1] ?? 0));
  }
  const selfFn = new Map();
  const selfFile = new Map();
  const inclFile = new Map();
  const callers = new Map();
  let busy = 0;
  let idle = 0;
  const add = (m, k, v) => m.set(k, (m.get(k) || 0) + v);
  for (const [id, us] of sampleUs) {
    const n = byId.get(id);
    const fn = n.callFrame.functionName || '(anonymous)';
    if (fn === '(idle)' || fn === '(program)') {
      if (fn === '(idle)') idle += us;
      else busy += us;
      add(selfFn, fn, us);
      continue;
    }
    busy += us;
    const f = fileOf(n.callFrame.url);
    add(selfFn, `${fn} ${f}:${n.callFrame.lineNumber + 1}`, us);
    add(selfFile, f, us);
    const seen = new Set();
    if (callersOf) {
      let inside = false;
      for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
        const cf = byId.get(cur).callFrame;
        const ff = fileOf(cf.url);
        if (ff === callersOf) inside = true;
        else if (inside && ff.startsWith('src/')) {
          add(callers, `${cf.functionName || '(anonymous)'} ${ff}:${cf.lineNumber + 1}`, us);
          break;
        }
      }
    }
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur).callFrame;
      if (!cf.url) continue;
      const ff = fileOf(cf.url);
      if (!seen.has(ff)) {
        seen.add(ff);
        add(inclFile, ff, us);
      }
    }
  }
  const fmt = (us) => {
    const ms = (us / 1000).toFixed(1).padStart(9);
    const pct = ((100 * us) / busy).toFixed(1).padStart(5);
    return `${ms} ms ${pct}%${per ? ` ${(us / per).toFixed(1).padStart(8)} us/unit` : ''}`;
  };
  const table = (title, m) => {
    console.log(`\n${title}`);
    for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${fmt(us)}  ${k}`);
  };
  console.log(`${file}: busy ${fmt(busy)}, idle ${(idle / 1000).toFixed(1)} ms`);
  table('self time by function', selfFn);
  table('self time by file', selfFile);
  table('inclusive time by file (once per sample)', inclFile);
  if (callersOf) table(`time inside ${callersOf}, by the nearest calling function of src/`, callers);
}

main();
