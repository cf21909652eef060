/**
 * The benchmark's load generator, in its own process so the driver's event loop does not distort it.
 *
 *   node bench-build/bench/client.js <scenario> '<json args>'
 *
 * `args.via` says how to reach the target: `{kind:"direct"}` (plain TCP, the baseline), `{kind:"grpc",
 * socketPath}` or `{kind:"http-connect", socketPath}` (through the server's Unix-socket frontend, the way
 * kube-apiserver dials). The same code runs every scenario over every path, so the ratio compares the
 * tunnel, not two clients. Results are JSON lines on stdout; the last one has `"event":"result"`.
 */
import * as net from 'net';
import { Duplex } from 'stream';
import { dialViaGrpc, dialViaHttpConnect, TunnelConnection } from '../src/client';
import { MiB, emit, errorText, jsonArg, nowMs, onStdinCommands, sleep, summarize } from './common';
import type { Via } from './scenarioTypes';

/** A dial slower than this is a failure: 10,000 dials at once queue for a long time on 2 loaded cores. */
const DIAL_TIMEOUT_MS = 30_000;
/** Same for the echo that follows: it waits behind every other tunnel's echo. */
const ECHO_TIMEOUT_MS = 30_000;
/** A graceful close (CLOSE_REQ/CLOSE_RSP) not done by then is forced: it only delays the next step. */
const CLOSE_TIMEOUT_MS = 15_000;
/** After the stall test, how long to keep probing for a working tunnel, and each probe's timeout. */
const RECOVERY_MS = 20_000;
const RECOVERY_PROBE_MS = 3_000;
/** Echo of a held tunnel after the idle period: it is idle, so an answer comes at once or never. */
const ALIVE_PROBE_MS = 10_000;
/** How long `stall` waits for the stalled reader to stop reading (its kernel buffers fill in well under 1 s). */
const PAUSE_WAIT_MS = 10_000;
const DEFAULT_ECHO_BYTES = 64;
const WRITE_CHUNK = Buffer.alloc(256 * 1024, 'u');
const noop = (): void => undefined;

type Conn = net.Socket | TunnelConnection;

function dialDirect(address: string, timeoutMs: number): Promise<net.Socket> {
  const host = address.slice(0, address.lastIndexOf(':'));
  const port = Number(address.split(':').pop());
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect ${address} timed out`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** A connected duplex to `address`, straight or through the proxy. Errors after the dial are swallowed. */
async function dial(via: Via, address: string, timeoutMs = DIAL_TIMEOUT_MS): Promise<Conn> {
  let conn: Conn;
  if (via.kind === 'direct') conn = await dialDirect(address, timeoutMs);
  else if (via.kind === 'grpc')
    conn = await dialViaGrpc({
      target: `unix://${via.socketPath}`,
      address,
      timeoutMs,
      // Every dial a stream on one shared HTTP/2 connection, as kube-apiserver's client multiplexes.
      ...(via.oneChannel ? { channelOptions: { 'grpc.use_local_subchannel_pool': 0 } } : {}),
    });
  else conn = await dialViaHttpConnect({ socketPath: via.socketPath, address, timeoutMs });
  conn.on('error', noop);
  return conn;
}

/** Graceful close (CLOSE_REQ through a tunnel, FIN on a socket); true when it completed in time. */
async function closeConn(conn: Conn, timeoutMs = CLOSE_TIMEOUT_MS): Promise<boolean> {
  if (conn.closed) return true;
  const closed = new Promise<boolean>((resolve) => conn.once('close', () => resolve(true)));
  conn.resume();
  if (conn instanceof TunnelConnection) void conn.close();
  else conn.end();
  let timer: NodeJS.Timeout | undefined;
  const ok = await Promise.race([
    closed,
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (!ok) conn.destroy();
  return ok;
}

/** Writes `payload` and resolves once as many bytes have come back. */
function echoOnce(conn: Duplex, payload: Buffer, timeoutMs = ECHO_TIMEOUT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      conn.off('data', onData);
      conn.off('end', onEnd);
      conn.off('error', finish);
      if (err) reject(err);
      else resolve();
    };
    const onData = (d: Buffer): void => {
      got += d.length;
      if (got >= payload.length) finish();
    };
    const onEnd = (): void => finish(new Error('connection ended before the echo'));
    const timer = setTimeout(() => finish(new Error('echo timed out')), timeoutMs);
    conn.on('data', onData);
    conn.on('end', onEnd);
    conn.on('error', finish);
    conn.write(payload);
  });
}

const payloadOf = (bytes: number | undefined): Buffer => Buffer.alloc(bytes ?? DEFAULT_ECHO_BYTES, 'e');

function countHeader(count: number): Buffer {
  const header = Buffer.alloc(8);
  header.writeBigUInt64BE(BigInt(count));
  return header;
}

/** Error messages, counted, with a cap on distinct keys. */
function errorTally(): { add(err: unknown): void; counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  return {
    add(err) {
      const key = errorText(err).slice(0, 160);
      if (key in counts || Object.keys(counts).length < 10) counts[key] = (counts[key] ?? 0) + 1;
    },
    counts,
  };
}

interface Transfer {
  via: Via;
  address: string;
  bytes: number;
  capMs: number;
}

/** Target -> client: bytes received until `bytes` or `capMs`, timed from the request header. */
async function download({ via, address, bytes, capMs }: Transfer): Promise<Record<string, unknown>> {
  const conn = await dial(via, address);
  let received = 0;
  const t0 = nowMs();
  let tEnd = t0;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, capMs);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    conn.on('data', (d: Buffer) => {
      received += d.length;
      tEnd = nowMs();
      if (received >= bytes) done();
    });
    conn.on('close', done);
    conn.write(countHeader(bytes));
  });
  const ms = (received >= bytes ? tEnd : nowMs()) - t0;
  conn.destroy();
  return { bytes: received, ms, mbps: received / 1e6 / (ms / 1000), complete: received >= bytes };
}

/** Client -> target: bytes the target confirmed (one progress byte per MiB) until `bytes` or `capMs`. */
async function upload({ via, address, bytes, capMs }: Transfer): Promise<Record<string, unknown>> {
  const conn = await dial(via, address);
  const expected = Math.floor(bytes / MiB);
  let confirmed = 0;
  let stop = false;
  let wake = noop;
  const t0 = nowMs();
  let tLast = t0;
  const finished = new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      stop = true;
      wake();
      resolve();
    };
    const timer = setTimeout(done, capMs);
    conn.on('data', (d: Buffer) => {
      confirmed += d.length;
      tLast = nowMs();
      if (confirmed >= expected) done();
    });
    conn.on('close', done);
  });
  conn.on('drain', () => wake());
  conn.write(countHeader(expected * MiB));
  let sent = 0;
  while (!stop && sent < expected * MiB) {
    const n = Math.min(WRITE_CHUNK.length, expected * MiB - sent);
    sent += n;
    if (!conn.write(n === WRITE_CHUNK.length ? WRITE_CHUNK : WRITE_CHUNK.subarray(0, n))) {
      await new Promise<void>((resolve) => (wake = resolve));
      wake = noop;
    }
  }
  await finished;
  const complete = confirmed >= expected;
  const ms = (complete ? tLast : nowMs()) - t0;
  conn.destroy();
  const delivered = confirmed * MiB;
  return { bytes: delivered, ms, mbps: delivered / 1e6 / (ms / 1000), complete };
}

/**
 * `passes` downloads from each of several `targets` ({via, address}: e.g. the same target behind
 * differently configured servers), alternating between them in a rotating order (pass p starts at target
 * (offset + p) mod n), so that the samples of different targets are taken seconds apart and each pass's
 * samples can be paired. One process for the whole series: no process start-up between samples.
 */
async function downloadSeries(a: {
  targets: { via: Via; address: string }[];
  bytes: number;
  capMs: number;
  passes: number;
  offset?: number;
  pauseMs?: number;
}): Promise<Record<string, unknown>> {
  const { targets, bytes, capMs, passes, offset = 0, pauseMs = 50 } = a;
  const samples = [];
  for (let p = 0; p < passes; p++) {
    for (let j = 0; j < targets.length; j++) {
      const i = (offset + p + j) % targets.length;
      const r = await download({ ...targets[i]!, bytes, capMs });
      samples.push({ target: i, pass: p, ...r });
      // Lets the closed tunnel's teardown finish before the next sample starts.
      await sleep(pauseMs);
    }
  }
  return { samples };
}

/**
 * Sequential dial + echo + graceful close, `n` times after `warmup` unrecorded ones. With `samples`, the
 * result also carries every recorded dial+echo time (ms), so runs can be pooled.
 */
async function latency(a: {
  via: Via;
  address: string;
  n: number;
  warmup: number;
  capMs: number;
  samples?: boolean;
  echoBytes?: number;
}): Promise<Record<string, unknown>> {
  const { via, address, n, warmup, capMs, samples = false } = a;
  const payload = payloadOf(a.echoBytes);
  const dialMs: number[] = [];
  const echoMs: number[] = [];
  const cycleMs: number[] = [];
  const errors = errorTally();
  let failed = 0;
  let attempts = 0;
  const deadline = Date.now() + capMs;
  for (let i = 0; i < warmup + n && Date.now() < deadline; i++) {
    attempts++;
    const t0 = nowMs();
    try {
      const conn = await dial(via, address);
      const t1 = nowMs();
      await echoOnce(conn, payload);
      const t2 = nowMs();
      await closeConn(conn);
      const t3 = nowMs();
      if (i >= warmup) {
        dialMs.push(t1 - t0);
        echoMs.push(t2 - t0);
        cycleMs.push(t3 - t0);
      }
    } catch (err) {
      failed++;
      errors.add(err);
    }
  }
  return {
    requested: n,
    dial: summarize(dialMs),
    dialEcho: summarize(echoMs),
    cycle: summarize(cycleMs),
    failed,
    attempts,
    errors: errors.counts,
    ...(samples ? { dialEchoSamples: echoMs.map((v) => Math.round(v * 1000) / 1000) } : {}),
  };
}

/**
 * Opens `n` tunnels with at most `inFlight` dials (dial + echo) outstanding, keeps them all open, reports
 * `{"event":"open"}`, then (with `hold`) waits for `{"cmd":"close"}` on stdin, checks a sample still echoes
 * and closes them all.
 */
async function concurrent(a: {
  via: Via;
  address: string;
  n: number;
  inFlight: number;
  hold?: boolean;
  echoBytes?: number;
}): Promise<Record<string, unknown>> {
  const { via, address, n, inFlight, hold } = a;
  const payload = payloadOf(a.echoBytes);
  const conns: Conn[] = [];
  const errors = errorTally();
  let failed = 0;
  let next = 0;
  const t0 = nowMs();
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      let conn: Conn | undefined;
      try {
        conn = await dial(via, address);
        await echoOnce(conn, payload);
        conns.push(conn);
      } catch (err) {
        failed++;
        errors.add(err);
        conn?.destroy();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, worker));
  const openMs = nowMs() - t0;
  emit({ event: 'open', ok: conns.length, failed, openMs, errors: errors.counts });
  if (hold) {
    await new Promise<void>((resolve) => {
      onStdinCommands((cmd) => {
        if (cmd.cmd === 'close') resolve();
      });
    });
  }
  // A sample of the held tunnels must still carry bytes after the idle period.
  const sample = conns.slice(0, Math.min(200, conns.length));
  const alive = await Promise.all(
    sample.map((c) =>
      echoOnce(c, payload, ALIVE_PROBE_MS).then(
        () => 1,
        () => 0,
      ),
    ),
  );
  const t1 = nowMs();
  const closed = await Promise.all(conns.map((c) => closeConn(c)));
  const closeMs = nowMs() - t1;
  return {
    requested: n,
    ok: conns.length,
    failed,
    openMs,
    errors: errors.counts,
    sampleAlive: alive.reduce((x, y) => x + y, 0),
    sampleSize: sample.length,
    closeMs,
    closedGracefully: closed.filter(Boolean).length,
  };
}

interface Endless {
  bytes: number;
  paused: boolean;
  pausedAt: number;
  pausedTime: number;
  closedTime: number;
  end: string | null;
}

/** Starts counting a download on `conn` (count 0 = endless); returns a live counter. */
function startEndless(conn: Conn, pauseAfter?: number): Endless {
  const state: Endless = { bytes: 0, paused: false, pausedAt: 0, pausedTime: 0, closedTime: 0, end: null };
  conn.on('data', (d: Buffer) => {
    state.bytes += d.length;
    if (pauseAfter !== undefined && !state.paused && state.bytes >= pauseAfter) {
      // Stops reading for good: no resume, as a stuck kube-apiserver client would.
      conn.pause();
      state.paused = true;
      state.pausedAt = state.bytes;
      state.pausedTime = nowMs();
    }
  });
  // Whether (and when) the proxy gave up on this tunnel, e.g. evicted a stalled reader.
  conn.on('error', (err: Error) => (state.end ??= `error: ${err.message}`));
  conn.on('end', () => (state.end ??= 'end'));
  conn.on('close', () => {
    state.end ??= 'close';
    state.closedTime = nowMs();
  });
  conn.write(countHeader(0));
  return state;
}

const SLICE_MS = 250;

/** Bytes `state` receives during `windowMs` (after `rampMs`), with a timeline of MB/s per SLICE_MS. */
async function windowBytes(state: Endless, rampMs: number, windowMs: number) {
  await sleep(rampMs);
  const before = state.bytes;
  const t0 = nowMs();
  const timeline: number[] = [];
  let last = before;
  while (nowMs() - t0 < windowMs - 1) {
    await sleep(Math.min(SLICE_MS, windowMs - (nowMs() - t0)));
    timeline.push(Math.round(((state.bytes - last) / 1e6 / (SLICE_MS / 1000)) * 10) / 10);
    last = state.bytes;
  }
  const ms = nowMs() - t0;
  return {
    bytes: state.bytes - before,
    ms,
    mbps: (state.bytes - before) / 1e6 / (ms / 1000),
    startedAt: t0,
    timelineMBps: timeline,
  };
}

/**
 * B's download throughput alone, then with a neighbour A on the same agent that stopped reading after
 * `stallAfterBytes`, then alone again; each over a fixed window, so a stall cannot hang the run. Between
 * the last two, checks that a new tunnel works once A and B are gone.
 */
async function stall(a: {
  via: Via;
  address: string;
  echoAddress: string;
  rampMs: number;
  windowMs: number;
  stallAfterBytes: number;
  settleMs: number;
}): Promise<Record<string, unknown>> {
  const { via, address, echoAddress, rampMs, windowMs, stallAfterBytes, settleMs } = a;
  const soloWindow = async () => {
    const conn = await dial(via, address);
    const w = await windowBytes(startEndless(conn), rampMs, windowMs);
    conn.destroy();
    await sleep(300);
    return w;
  };
  const soloBefore = await soloWindow();

  const connA = await dial(via, address);
  const connB = await dial(via, address);
  const aState = startEndless(connA, stallAfterBytes);
  const bState = startEndless(connB);
  // Let A stop reading and every buffer on its path fill up before measuring B.
  const stalledAfter = nowMs();
  while (!aState.paused && nowMs() - stalledAfter < PAUSE_WAIT_MS) await sleep(20);
  await sleep(settleMs);
  const withStalled = await windowBytes(bState, 0, windowMs);
  const stalledReader = {
    paused: aState.paused,
    pausedAtBytes: aState.pausedAt,
    bytesAtEnd: aState.bytes,
    // The proxy ended A (eviction) this long after A stopped reading; null: still open at the window's end.
    endedAfterMs: aState.closedTime ? aState.closedTime - aState.pausedTime : null,
    end: aState.end,
    windowStartedAfterPauseMs: withStalled.startedAt - aState.pausedTime,
  };
  connA.destroy();
  connB.destroy();

  // Does the proxy recover once the stalled tunnel is gone? Probe with fresh dials for up to RECOVERY_MS.
  await sleep(200);
  let recovered = false;
  let recoveryError: string | undefined;
  let attempts = 0;
  const t0 = nowMs();
  while (!recovered && nowMs() - t0 < RECOVERY_MS) {
    attempts++;
    try {
      const c = await dial(via, echoAddress, RECOVERY_PROBE_MS);
      await echoOnce(c, payloadOf(undefined), RECOVERY_PROBE_MS);
      c.destroy();
      recovered = true;
    } catch (err) {
      recoveryError = errorText(err);
      await sleep(200);
    }
  }
  const recoveryMs = nowMs() - t0;
  // B alone again, so that a machine-wide slowdown during one solo window cannot pass for a good ratio:
  // the ratio uses the better of the two solo figures.
  const soloAfter = recovered ? await soloWindow().catch(() => null) : null;
  const solo = soloAfter && soloAfter.mbps > soloBefore.mbps ? soloAfter : soloBefore;
  return {
    solo,
    soloBefore,
    soloAfter,
    withStalled,
    ratio: solo.mbps > 0 ? withStalled.mbps / solo.mbps : null,
    stalledReader,
    recovered,
    recoveryMs,
    recoveryAttempts: attempts,
    ...(recoveryError ? { recoveryError } : {}),
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each scenario parses its own JSON argument
const SCENARIOS: Record<string, (args: any) => Promise<Record<string, unknown>>> = {
  download,
  downloadSeries,
  upload,
  latency,
  concurrent,
  stall,
};

async function main(): Promise<void> {
  const [name, json] = process.argv.slice(2);
  const scenario = name === undefined ? undefined : SCENARIOS[name];
  if (!scenario) throw new Error(`unknown scenario ${name}; one of ${Object.keys(SCENARIOS).join(', ')}`);
  const cpu0 = process.cpuUsage();
  const result = await scenario(jsonArg(json));
  const cpu = process.cpuUsage(cpu0);
  emit({ event: 'result', scenario: name, ...result, clientCpuMs: (cpu.user + cpu.system) / 1000 });
  process.exit(0);
}

main().catch((err: unknown) => {
  emit({ event: 'error', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});
