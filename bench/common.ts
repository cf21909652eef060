/**
 * Shared pieces of the benchmark driver and its helper processes: JSON-line messaging over stdio, numbers
 * (median, percentiles) and /proc readings (memory, CPU, open files). Processes, clusters, ports, metrics and
 * polling come from the test harness (test/helpers, test/e2e/cluster.ts): one harness for tests and bench.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';

export const MiB = 1024 * 1024;
export const KiB = 1024;

/** JSON-line messages between the driver and its helpers: plain data. */
export type Msg = Record<string, unknown> & { event?: string; id?: number };

/** Writes one JSON line to stdout: how every helper process reports to the driver. */
export function emit(obj: object): void {
  process.stdout.write(
    `${JSON.stringify(obj, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}\n`,
  );
}

/**
 * Calls `onCommand(obj)` for every JSON line on stdin and exits when stdin closes, so a helper never
 * outlives the driver (even one that was SIGKILLed).
 */
export function onStdinCommands(onCommand: (cmd: Msg) => void): void {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (!line.trim()) return;
    let cmd: Msg;
    try {
      cmd = JSON.parse(line) as Msg;
    } catch {
      return;
    }
    onCommand(cmd);
  });
  rl.on('close', () => process.exit(0));
}

/** Parses a helper's JSON argument (argv), typed by its caller. */
export function jsonArg<T>(text: string | undefined): T {
  return JSON.parse(text ?? '{}') as T;
}

/**
 * The Node flags a launcher in bin/ passes on its first line (`#!/usr/bin/env -S node <flags>`). A process
 * started as `node <flags> <script>` (a profiled one, the floor) ignores that line, so it repeats these.
 */
export function launcherNodeFlags(launcher: string): string[] {
  const first = fs.readFileSync(launcher, 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\/usr\/bin\/env(?: -S)? node((?: --[a-z-]+(?:=\S+)?)*)$/.exec(first);
  if (!match) throw new Error(`${launcher}: not a bin/ launcher ("${first}")`);
  return match[1]!.trim().split(' ').filter(Boolean);
}

/**
 * A directory of server and agent launchers that exec node with `flags` before bin/'s own script: for flags
 * that cannot come through NODE_OPTIONS (`--cpu-prof`, heap sizes), keeping the pid, so /proc readings hold.
 * node with a script file ignores the script's first line: callers that want its flags pass them
 * (`launcherNodeFlags(launcher)`).
 */
export function wrapperBinDir(
  dir: string,
  binRoot: string,
  flags: (who: 'server' | 'agent', launcher: string) => string[],
): string {
  fs.mkdirSync(dir);
  for (const who of ['server', 'agent'] as const) {
    const launcher = path.join(binRoot, `konnectivity-${who}`);
    const args = [...flags(who, launcher), launcher].map((a) => JSON.stringify(a)).join(' ');
    fs.writeFileSync(
      path.join(dir, `konnectivity-${who}`),
      `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${args} "$@"\n`,
      {
        mode: 0o755,
      },
    );
  }
  return dir;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100) of an unsorted array. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1]!;
}

export interface Summary {
  n: number;
  p50?: number;
  p90?: number;
  p99?: number;
  max?: number;
  mean?: number;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { n: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return {
    n: values.length,
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    max: Math.max(...values),
    mean,
  };
}

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export interface ProcMemory {
  rss: number | null;
  hwm: number | null;
}

/** VmRSS / VmHWM of a process in bytes, or null when it is gone. */
export function procMemory(pid: number | undefined): ProcMemory | null {
  if (pid === undefined) return null;
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (name: string): number | null => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : null;
  };
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

export const STATS_DIR_ENV = 'KONNECTIVITY_BENCH_STATS_DIR';

/**
 * Environment that loads gcHook.js (through NODE_OPTIONS, which also reaches a bin/ shebang script), for
 * every process whose memory is measured.
 */
export function gcHookEnv(extraNodeOptions = ''): NodeJS.ProcessEnv {
  const hook = path.join(__dirname, 'gcHook.js');
  return { NODE_OPTIONS: `--expose-gc --require ${hook} ${extraNodeOptions}`.trim() };
}

/** How long a process gets to answer the SIGUSR2 full-GC request before a plain RSS reading is used. */
const GC_ANSWER_TIMEOUT_MS = 5_000;

export interface GcMemory extends ProcMemory {
  heapUsed?: number;
  heapTotal?: number;
  external?: number;
  arrayBuffers?: number;
  gc: boolean;
}

/**
 * Full GC in process `pid` (through gcHook.js and SIGUSR2), then its RSS and V8 heap figures, in bytes.
 * Falls back to a plain RSS reading (gc: false) when the process does not answer in time.
 */
export async function gcMemory(pid: number | undefined): Promise<GcMemory | null> {
  if (pid === undefined) return null;
  const file = path.join(process.env[STATS_DIR_ENV] ?? '/nonexistent', `mem-${pid}.json`);
  type Stats = NodeJS.MemoryUsage & { seq: number };
  const read = (): Stats | null => {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as Stats;
    } catch {
      return null;
    }
  };
  const seq = read()?.seq ?? 0;
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {
    return null;
  }
  const deadline = Date.now() + GC_ANSWER_TIMEOUT_MS;
  let stats = read();
  while (!(stats && stats.seq > seq) && Date.now() < deadline) {
    await sleep(20);
    stats = read();
  }
  const mem = procMemory(pid);
  if (!mem) return null;
  if (!stats || stats.seq <= seq) return { ...mem, gc: false };
  const { heapUsed, heapTotal, external, arrayBuffers } = stats;
  return { ...mem, heapUsed, heapTotal, external, arrayBuffers, gc: true };
}

/** USER_HZ, 100 on every Linux architecture Node supports: the unit of utime/stime in /proc/<pid>/stat. */
const CLOCK_TICKS_PER_S = 100;

/** CPU time (user + system) a process has used so far, in ms; null when it is gone. */
export function cpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}

/** Number of open file descriptors of a process (null when it is gone or unreadable). */
export function openFds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** The soft and hard limits on open files of this process (children inherit them). */
export function openFilesLimit(): { soft: number; hard: number } | null {
  const limits = fs.readFileSync('/proc/self/limits', 'utf8');
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (!m) return null;
  const num = (v: string | undefined): number => (v === 'unlimited' ? Infinity : Number(v));
  return { soft: num(m[1]), hard: num(m[2]) };
}

/** File descriptors a process needs besides one per connection (listeners, logs, node itself). */
const FD_HEADROOM = 500;

/**
 * Null when this process (and so its children, which inherit the limit) may open enough files for `n`
 * connections of `what` ("agents", "tunnels"); else why not, with the command that fixes it. Without this
 * check a low limit shows up as EMFILE in some process, or as dials that time out, far from its cause.
 */
export function fdLimitProblem(n: number, what: string): string | null {
  const limit = openFilesLimit();
  if (!limit || limit.soft >= n + FD_HEADROOM) return null;
  return (
    `the open files limit (ulimit -n) is ${limit.soft} (hard ${limit.hard}), too low for ${n} ${what}: ` +
    `each process on the path needs about ${n + FD_HEADROOM}; raise it (ulimit -n ${n + 2 * FD_HEADROOM}, ` +
    'at most the hard limit) and run again'
  );
}
