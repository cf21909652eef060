/**
 * Real executables (bin/konnectivity-server, bin/konnectivity-agent, or a Go reference binary) run as child
 * processes for end-to-end tests. Output is kept in a ring of recent lines so a failure can show what the
 * process said; every process is registered so `stopAllProcesses()` (afterEach/afterAll) and, as a last
 * resort, the test process's exit can end it. Nothing started here outlives the test run.
 *
 * Each child gets its own process group, and signals go to the group: a wrapper script's children are
 * stopped with it.
 *
 * Why two last resorts: jest gives each test file a copy of `process` whose 'exit' never fires, so inside
 * jest the exit hook below does nothing. On Linux the child is therefore started through util-linux's
 * `setpriv --pdeathsig KILL`, which makes the kernel kill it when the test worker dies in any way.
 */
import { spawn, type ChildProcess } from 'child_process';
import { accessSync, constants as fsConstants } from 'fs';
import { UNCAUGHT_MESSAGE } from '../../src/observability/lastResort';
import { httpGet } from './http';
import { waitFor } from './waitFor';

export { httpGet } from './http';

/** Lines of output kept per process; enough for a failing test's story, bounded for long benchmarks. */
const RING_LINES = 2000;
/** Longer lines are cut: one runaway line must not fill the ring's memory. */
const MAX_LINE_CHARS = 4000;
/** Lines of output quoted in a thrown error; the full ring stays available via `output()`. */
const ERROR_TAIL_LINES = 60;
/** Graceful stop budget before SIGKILL: the servers' own graceful shutdown is shorter. */
const DEFAULT_STOP_TIMEOUT_MS = 5_000;

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  readonly error?: Error;
}

export interface StartProcessOptions {
  /** Added to (and overriding) the test process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** Label for logs and errors; defaults to the executable's base name. */
  readonly name?: string;
  readonly cwd?: string;
  /** 'pipe' to write to the process with `send()` (the benchmark's helpers take commands on stdin). */
  readonly stdin?: 'pipe' | 'ignore';
}

export class ProcessError extends Error {
  override readonly name = 'ProcessError';
  constructor(
    message: string,
    readonly processName: string,
    readonly outputTail: string,
    options?: { cause?: unknown },
  ) {
    super(`${message}\n--- last output of ${processName} ---\n${outputTail}\n--- end of output ---`, options);
  }
}

const running = new Set<ManagedProcess>();

/**
 * Lines in which a spawned binary reported an uncaught exception (its last-resort guard kept it serving).
 * Every such line is a bug: the test during which it appeared fails (afterEach below, stopAllProcesses).
 */
const uncaughtReports: string[] = [];

/** Throws, and forgets them, if any spawned binary reported an uncaught exception since the last check. */
export function assertNoUncaughtExceptions(): void {
  if (uncaughtReports.length === 0) return;
  const reports = uncaughtReports.splice(0);
  throw new Error(`a spawned binary hit an uncaught exception:\n${reports.join('\n')}`);
}

// Registered at import, so every test file that starts binaries checks after each test.
if (typeof afterEach === 'function') afterEach(assertNoUncaughtExceptions);

export class ManagedProcess {
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private readonly lines: string[] = [];
  private readonly partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  private readonly lineListeners = new Set<(line: string) => void>();

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    running.add(this);
    this.exited = new Promise<ExitInfo>((resolve) => {
      const finish = (info: ExitInfo): void => {
        if (this.exitInfo) return;
        this.flushPartial();
        this.exitInfo = info;
        running.delete(this);
        resolve(info);
      };
      child.once('exit', (code, signal) => finish({ code, signal }));
      child.once('error', (error) => finish({ code: null, signal: null, error }));
    });
    child.stdout?.setEncoding('utf8').on('data', (text: string) => this.record('stdout', text));
    child.stderr?.setEncoding('utf8').on('data', (text: string) => this.record('stderr', text));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The exit status once the process has ended; undefined while it runs. */
  get exitStatus(): ExitInfo | undefined {
    return this.exitInfo;
  }

  get isRunning(): boolean {
    return this.exitInfo === undefined;
  }

  /** Recent output, oldest first; stderr lines are prefixed with `[stderr] `. */
  output(lastLines = RING_LINES): string {
    return this.lines.slice(-lastLines).join('\n');
  }

  /** An error that carries the end of this process's output. */
  error(message: string, cause?: unknown): ProcessError {
    return new ProcessError(
      message,
      this.name,
      this.output(ERROR_TAIL_LINES),
      cause === undefined ? undefined : { cause },
    );
  }

  /** Throws (with output) if the process has already exited. */
  assertRunning(): void {
    if (this.exitInfo) throw this.error(`${this.name} exited unexpectedly (${describeExit(this.exitInfo)})`);
  }

  /** Sends a signal to the process group; a no-op once the process has exited. */
  signal(signal: NodeJS.Signals): void {
    if (!this.isRunning || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // The group may be gone already (exit racing with us); the 'exit' event will tell.
    }
  }

  /** Sends `signal`, waits up to `timeoutMs`, then SIGKILLs. Resolves with how the process ended. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<ExitInfo> {
    if (this.exitInfo) return this.exitInfo;
    this.signal(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)),
    );
    const result = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (result !== 'timeout') return result;
    this.signal('SIGKILL');
    return this.exited;
  }

  /** Sends `signal` (SIGKILL by default) and waits for the exit. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> {
    this.signal(signal);
    return this.exited;
  }

  /** Waits until a line of output matches; fails early, with output, if the process exits. */
  async waitForOutput(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    return waitFor(
      () => {
        const line = this.lines.find((l) => pattern.test(l));
        if (line !== undefined) return line;
        this.assertRunning();
        return undefined;
      },
      {
        timeoutMs,
        description: `${this.name} to print ${String(pattern)}`,
        failFast: (err) => err instanceof ProcessError,
      },
    ).catch((err: unknown) => {
      throw err instanceof ProcessError ? err : this.error(`no output matching ${String(pattern)}`, err);
    });
  }

  /** Waits until `url` answers `status`, failing early (with output) if the process exits. */
  async waitForHttp(url: string, options: { status?: number; timeoutMs?: number } = {}): Promise<string> {
    const status = options.status ?? 200;
    try {
      return await waitForHttp(url, {
        status,
        timeoutMs: options.timeoutMs ?? 10_000,
        alive: () => this.assertRunning(),
      });
    } catch (err) {
      throw err instanceof ProcessError ? err : this.error(`${url} did not answer ${status}`, err);
    }
  }

  /**
   * Calls `listener` with every later line of stdout, uncut and in order (the ring keeps only recent ones,
   * cut to a bounded length). Returns the unsubscribe function.
   */
  onStdoutLine(listener: (line: string) => void): () => void {
    this.lineListeners.add(listener);
    return () => this.lineListeners.delete(listener);
  }

  /** Writes `text` to stdin (started with `stdin: 'pipe'`); false when there is no stdin or it is closed. */
  send(text: string): boolean {
    const stdin = this.child.stdin;
    if (!stdin || stdin.destroyed || !stdin.writable) return false;
    stdin.write(text);
    return true;
  }

  /** Closes stdin: helpers that read commands from it exit when it ends. */
  endInput(): void {
    this.child.stdin?.end();
  }

  /** Synchronous SIGKILL of the group, for process 'exit' handlers where nothing async runs. */
  killNow(): void {
    this.signal('SIGKILL');
  }

  private record(stream: 'stdout' | 'stderr', text: string): void {
    const pieces = (this.partial[stream] + text).split('\n');
    this.partial[stream] = pieces.pop() ?? '';
    for (const line of pieces) this.push(stream, line);
  }

  private flushPartial(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream]) this.push(stream, this.partial[stream]);
      this.partial[stream] = '';
    }
  }

  private push(stream: 'stdout' | 'stderr', line: string): void {
    const cut = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}...[cut]` : line;
    if (line.includes(UNCAUGHT_MESSAGE)) uncaughtReports.push(`${this.name}: ${cut}`);
    if (stream === 'stdout') for (const listener of this.lineListeners) listener(line);
    this.lines.push(stream === 'stderr' ? `[stderr] ${cut}` : cut);
    if (this.lines.length > RING_LINES) this.lines.splice(0, this.lines.length - RING_LINES);
  }
}

function describeExit(info: ExitInfo): string {
  if (info.error) return `failed to start: ${info.error.message}`;
  return info.signal ? `signal ${info.signal}` : `exit code ${info.code}`;
}

/**
 * Starts `binPath` with `args`. A `.js` path is run with this Node; anything else is executed directly
 * (shebang scripts, Go binaries).
 */
export function startProcess(
  binPath: string,
  args: readonly string[],
  options: StartProcessOptions = {},
): ManagedProcess {
  const isJs = binPath.endsWith('.js');
  let command = isJs ? process.execPath : binPath;
  let argv = isJs ? [binPath, ...args] : [...args];
  const setpriv = setprivPath();
  // A missing executable must fail as spawn's ENOENT, not as setpriv's "failed to execute" exit code.
  if (setpriv && isExecutable(command)) {
    // setpriv execs the command in place: same pid, same process group, plus a parent-death signal.
    argv = ['--pdeathsig', 'KILL', '--', command, ...argv];
    command = setpriv;
  }
  const child = spawn(command, argv, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
    detached: true,
  });
  // A helper that exited before reading its commands must not turn the write into an uncaught EPIPE.
  child.stdin?.on('error', () => undefined);
  return new ManagedProcess(options.name ?? binPath.split('/').pop() ?? binPath, child);
}

let setprivCache: string | null | undefined;

/** Bare names are looked up on PATH by both spawn and setpriv, so only paths are checked. */
function isExecutable(command: string): boolean {
  if (!command.includes('/')) return true;
  try {
    accessSync(command, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function setprivPath(): string | null {
  if (setprivCache !== undefined) return setprivCache;
  if (process.platform !== 'linux') return (setprivCache = null);
  setprivCache = ['/usr/bin/setpriv', '/bin/setpriv'].find(isExecutable) ?? null;
  return setprivCache;
}

/** Stops every process started here that is still running (SIGTERM, then SIGKILL after `timeoutMs`). */
export async function stopAllProcesses(
  signal: NodeJS.Signals = 'SIGTERM',
  timeoutMs = DEFAULT_STOP_TIMEOUT_MS,
): Promise<void> {
  await Promise.all([...running].map((p) => p.stop(signal, timeoutMs)));
  assertNoUncaughtExceptions();
}

/** Processes started here that have not exited yet. */
export function runningProcesses(): readonly ManagedProcess[] {
  return [...running];
}

// Last resort: a test file that forgot its afterAll, or a crash, must not leave servers running.
process.on('exit', () => {
  for (const p of running) p.killNow();
});

/**
 * Polls `url` until it answers `status` (default 200) and returns the body. `alive` is called between
 * attempts and may throw to stop early (e.g. the process serving the URL exited).
 */
export async function waitForHttp(
  url: string,
  options: { status?: number; timeoutMs?: number; alive?: () => void } = {},
): Promise<string> {
  const status = options.status ?? 200;
  const timeoutMs = options.timeoutMs ?? 10_000;
  let lastAnswer = 'no answer';
  try {
    const answer = await waitFor(
      async () => {
        options.alive?.();
        try {
          const res = await httpGet(url);
          if (res.status === status) return { body: res.body };
          lastAnswer = `${res.status} ${res.body.slice(0, 200)}`;
        } catch (err) {
          lastAnswer = err instanceof Error ? err.message : String(err);
        }
        return undefined;
      },
      { timeoutMs, intervalMs: 50, description: `${url} to answer ${status}`, failFast: () => true },
    );
    return answer.body;
  } catch (err) {
    if (err instanceof ProcessError) throw err;
    throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms; last answer: ${lastAnswer}`, {
      cause: err,
    });
  }
}
