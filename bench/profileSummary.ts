/**
 * `npm run profile:summary -- <file.cpuprofile> [--per=N] [--top=N] [--callers=<file>]`: where the time of a
 * V8 CPU profile (from `node --cpu-prof`, e.g. `npm run bench:dial-cost -- --cpu-prof=<dir>`) goes.
 *
 * Prints self time per function and per file, and inclusive time per file (a sample counts once for every
 * file on its stack), in ms and in % of busy (non-idle) time. Files of this project are shown as
 * `src/...` (dist/x.js -> src/x.ts), dependencies as `node_modules/<package>`, Node's own as `node:...`.
 * With `--per=N` every figure is also divided by N (e.g. the number of dials the profile covers) in µs.
 * With `--callers=<file>` (e.g. `node_modules/prom-client`) it also prints the time spent inside that file
 * attributed to the nearest function of this project that called into it (who pays for a dependency).
 */
import * as fs from 'fs';
import { cliPath, parseOptions, type OptionSpec } from './cliOptions';

/** The parts of the `.cpuprofile` format (Chrome DevTools Protocol `Profiler.Profile`) read here. */
interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Why a profile could not be summarised. */
class ProfileError extends Error {
  override readonly name = 'ProfileError';
  constructor(
    readonly reason: 'unreadable' | 'not-a-profile',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The file a frame belongs to, as a reader of this project thinks of it. */
function fileOf(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    const first = rest[0] ?? '';
    return `node_modules/${first.startsWith('@') ? `${first}/${rest[1] ?? ''}` : first}`;
  }
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return `src/${url.slice(dist + '/dist/'.length).replace(/\.js$/, '.ts')}`;
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\//, '');
}

function readProfile(file: string): CpuProfile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ProfileError('unreadable', `cannot read ${file}`, { cause: err });
  }
  let prof: Partial<CpuProfile>;
  try {
    prof = JSON.parse(text) as Partial<CpuProfile>;
  } catch (err) {
    throw new ProfileError('not-a-profile', `${file} is not JSON`, { cause: err });
  }
  if (!Array.isArray(prof.nodes) || !Array.isArray(prof.samples) || !Array.isArray(prof.timeDeltas)) {
    throw new ProfileError('not-a-profile', `${file} has no nodes/samples/timeDeltas: not a .cpuprofile`);
  }
  return prof as CpuProfile;
}

interface ProfileSummary {
  busyUs: number;
  idleUs: number;
  selfByFunction: Map<string, number>;
  selfByFile: Map<string, number>;
  inclusiveByFile: Map<string, number>;
  /** Only with `callersOf`: time inside that file by the nearest calling function of src/. */
  callers: Map<string, number>;
}

function summarizeProfile(prof: CpuProfile, callersOf = ''): ProfileSummary {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  /** The root-ward chain of frames of a sample, leaf first. */
  function* stack(id: number): Generator<CallFrame> {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (node) yield node.callFrame;
    }
  }

  // A sample's time is the delta to the next sample (the last sample has none).
  const sampleUs = new Map<number, number>();
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i]!;
    sampleUs.set(id, (sampleUs.get(id) ?? 0) + (prof.timeDeltas[i + 1] ?? 0));
  }
  const s: ProfileSummary = {
    busyUs: 0,
    idleUs: 0,
    selfByFunction: new Map(),
    selfByFile: new Map(),
    inclusiveByFile: new Map(),
    callers: new Map(),
  };
  const add = (m: Map<string, number>, k: string, v: number): void => void m.set(k, (m.get(k) ?? 0) + v);
  for (const [id, us] of sampleUs) {
    const node = byId.get(id);
    if (!node) continue;
    const fn = node.callFrame.functionName || '(anonymous)';
    if (fn === '(idle)' || fn === '(program)') {
      if (fn === '(idle)') s.idleUs += us;
      else s.busyUs += us;
      add(s.selfByFunction, fn, us);
      continue;
    }
    s.busyUs += us;
    const f = fileOf(node.callFrame.url);
    add(s.selfByFunction, `${fn} ${f}:${node.callFrame.lineNumber + 1}`, us);
    add(s.selfByFile, f, us);
    if (callersOf) {
      let inside = false;
      for (const cf of stack(id)) {
        const ff = fileOf(cf.url);
        if (ff === callersOf) inside = true;
        else if (inside && ff.startsWith('src/')) {
          add(s.callers, `${cf.functionName || '(anonymous)'} ${ff}:${cf.lineNumber + 1}`, us);
          break;
        }
      }
    }
    const seen = new Set<string>();
    for (const cf of stack(id)) {
      if (!cf.url) continue;
      const ff = fileOf(cf.url);
      if (!seen.has(ff)) {
        seen.add(ff);
        add(s.inclusiveByFile, ff, us);
      }
    }
  }
  return s;
}

const OPTIONS = {
  per: { kind: 'number', default: 0 },
  top: { kind: 'number', default: 30 },
  callers: { kind: 'string', default: '' },
} satisfies Record<string, OptionSpec>;

function main(): void {
  const { options, positional } = parseOptions(process.argv.slice(2), OPTIONS, { positional: 1 });
  const file = positional[0];
  if (!file) {
    throw new Error(
      'usage: npm run profile:summary -- <file.cpuprofile> [--per=N] [--top=N] [--callers=<file>]',
    );
  }
  const { per, top, callers } = options;
  const s = summarizeProfile(readProfile(cliPath(file)), callers);
  const fmt = (us: number): string => {
    const ms = (us / 1000).toFixed(1).padStart(9);
    const pct = ((100 * us) / s.busyUs).toFixed(1).padStart(5);
    return `${ms} ms ${pct}%${per ? ` ${(us / per).toFixed(1).padStart(8)} us/unit` : ''}`;
  };
  const table = (title: string, m: Map<string, number>): void => {
    console.log(`\n${title}`);
    for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${fmt(us)}  ${k}`);
  };
  console.log(`${file}: busy ${fmt(s.busyUs)}, idle ${(s.idleUs / 1000).toFixed(1)} ms`);
  table('self time by function', s.selfByFunction);
  table('self time by file', s.selfByFile);
  table('inclusive time by file (once per sample)', s.inclusiveByFile);
  if (callers) table(`time inside ${callers}, by the nearest calling function of src/`, s.callers);
}

try {
  main();
} catch (err) {
  console.error(`profile:summary: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(err instanceof ProfileError ? 1 : 2);
}
