/**
 * Shared helpers of the benchmark driver and its child processes: JSON-line messaging over stdio, numbers
 * (median, percentiles), /proc memory readings and Prometheus text scraping.
 */
'use strict';
const fs = require('fs');
const http = require('http');
const net = require('net');
const path = require('path');
const readline = require('readline');

const MiB = 1024 * 1024;

/**
 * Where the code under test lives: the driver copies dist/ and bin/ into its temp dir at start (other work
 * may rebuild dist/ while the bench runs) and tells every child through this variable.
 */
const ROOT_ENV = 'KONNECTIVITY_BENCH_ROOT';
const codeRoot = () => process.env[ROOT_ENV] || path.join(__dirname, '../..');
const requireDist = (file) => require(path.join(codeRoot(), 'dist', file));

/** Writes one JSON line to stdout: how every helper process reports to the driver. */
function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

/**
 * Calls `onCommand(obj)` for every JSON line on stdin and exits when stdin closes, so a helper never
 * outlives the driver (even one that was SIGKILLed).
 */
function onStdinCommands(onCommand) {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (!line.trim()) return;
    let cmd;
    try {
      cmd = JSON.parse(line);
    } catch {
      return;
    }
    onCommand(cmd);
  });
  rl.on('close', () => process.exit(0));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function median(values) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of an unsorted array. */
function percentile(values, p) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1];
}

function summarize(values) {
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

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** VmRSS / VmHWM / VmSize of a process in bytes, or null when it is gone. */
function procMemory(pid) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (name) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : null;
  };
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

const STATS_DIR_ENV = 'KONNECTIVITY_BENCH_STATS_DIR';
/** Node flags that load gcHook.js, for every process whose memory is measured. */
const GC_NODE_ARGS = ['--expose-gc', '-r', path.join(__dirname, 'gcHook.js')];

/**
 * Full GC in process `pid` (through gcHook.js and SIGUSR2), then its RSS and V8 heap figures, in bytes.
 * Falls back to a plain RSS reading (gc: false) when the process does not answer within 5 s.
 */
async function gcMemory(pid) {
  const file = path.join(process.env[STATS_DIR_ENV] || '/nonexistent', `mem-${pid}.json`);
  const read = () => {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8'));
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
  const stats = await waitFor(
    async () => {
      const s = read();
      return s && s.seq > seq ? s : null;
    },
    5000,
    20,
  );
  const mem = procMemory(pid);
  if (!mem) return null;
  if (!stats) return { ...mem, gc: false };
  const { heapUsed, heapTotal, external, arrayBuffers } = stats;
  return { ...mem, heapUsed, heapTotal, external, arrayBuffers, gc: true };
}

/** CPU time (user + system) a process has used so far, in ms; null when it is gone. */
const CLOCK_TICKS_PER_S = 100; // USER_HZ, 100 on every Linux architecture Node supports
function cpuMs(pid) {
  let text;
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
function openFds(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

function httpGet(port, path, timeoutMs = 5000) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, body: '' }));
  });
}

/** Sum of every sample of a metric (all label sets) in Prometheus text, or null when absent. */
function metricValue(text, name) {
  let found = false;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) {
      sum += value;
      found = true;
    }
  }
  return found ? sum : null;
}

async function scrape(port, names) {
  const { status, body } = await httpGet(port, '/metrics');
  const out = {};
  for (const n of names) out[n] = status === 200 ? metricValue(body, n) : null;
  return out;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** Polls `check` (async, truthy = done) every `intervalMs` until it passes or `timeoutMs` elapses. */
async function waitFor(check, timeoutMs, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) return null;
    await sleep(intervalMs);
  }
}

module.exports = {
  MiB,
  ROOT_ENV,
  codeRoot,
  requireDist,
  emit,
  onStdinCommands,
  sleep,
  median,
  percentile,
  summarize,
  nowMs,
  procMemory,
  gcMemory,
  GC_NODE_ARGS,
  STATS_DIR_ENV,
  cpuMs,
  openFds,
  httpGet,
  metricValue,
  scrape,
  freePorts,
  waitFor,
};
