/**
 * A klog-compatible text logger. Operators of the Go server grep and parse its stderr with tools that expect
 * klog's structured text format, so our lines follow it:
 *
 *   I1124 14:30:00.123000   12345 server] "Agent connected" agentID="a-1" count=3
 *
 * The `file:line` slot of klog holds the component name instead: a stack walk per line would be slow, and
 * the component says more than a TypeScript line number in transpiled code.
 */
import { formatError, formatFields, quote, type Fields } from './logFormat';
import { redactCredentials } from './redact';
import { boundPeerText } from '../protocol/peerText';

export type { Fields } from './logFormat';

/** Receives one complete line, without the trailing newline. */
export type LogSink = (line: string) => void;

export const stderrSink: LogSink = (line) => {
  process.stderr.write(`${line}\n`);
};

export const discardSink: LogSink = () => {};

export interface LoggerOptions {
  /** klog `--v`: `debug(level, …)` lines are written when level <= verbosity. */
  readonly verbosity: number;
  readonly component: string;
  readonly sink?: LogSink;
  /** Injected so tests get stable timestamps. */
  readonly now?: () => Date;
  /** klog prints the thread id; a Node process has one, so the pid stands in for it. */
  readonly pid?: number;
}

export interface Logger {
  readonly component: string;
  readonly verbosity: number;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  /** `err` is rendered first as `err="…"`, with its `cause` chain, like klog's ErrorS. */
  error(msg: string, err?: unknown, fields?: Fields): void;
  /** klog's `V(level).Enabled()`: guard expensive field building with it. */
  v(level: number): boolean;
  /** klog's `V(level).InfoS`. Pass a function as `fields` to build them only when the level is enabled. */
  debug(level: number, msg: string, fields?: Fields | (() => Fields)): void;
  /** Same sink and verbosity; component becomes `parent/name` (logr's WithName convention). */
  child(name: string): Logger;
  /** Same sink and verbosity; `fields` are added to every line (call fields win on a clash). */
  with(fields: Fields): Logger;
}

type Severity = 'I' | 'W' | 'E';

export function createLogger(options: LoggerOptions): Logger {
  if (!Number.isInteger(options.verbosity) || options.verbosity < 0) {
    throw new RangeError(`log verbosity must be a non-negative integer, got ${String(options.verbosity)}`);
  }
  const base: Base = {
    verbosity: options.verbosity,
    sink: options.sink ?? stderrSink,
    now: options.now ?? (() => new Date()),
    pid: options.pid ?? process.pid,
  };
  return new KlogLogger(base, options.component, {});
}

interface Base {
  readonly verbosity: number;
  readonly sink: LogSink;
  readonly now: () => Date;
  readonly pid: number;
}

class KlogLogger implements Logger {
  constructor(
    private readonly base: Base,
    readonly component: string,
    private readonly bound: Fields,
  ) {}

  get verbosity(): number {
    return this.base.verbosity;
  }

  info(msg: string, fields?: Fields): void {
    this.write('I', msg, '', fields);
  }

  warn(msg: string, fields?: Fields): void {
    this.write('W', msg, '', fields);
  }

  error(msg: string, err?: unknown, fields?: Fields): void {
    this.write('E', msg, err === undefined ? '' : ` err=${quote(boundPeerText(formatError(err)))}`, fields);
  }

  v(level: number): boolean {
    return level <= this.base.verbosity;
  }

  debug(level: number, msg: string, fields?: Fields | (() => Fields)): void {
    if (level > this.base.verbosity) return;
    this.write('I', msg, '', typeof fields === 'function' ? fields() : fields);
  }

  child(name: string): Logger {
    return new KlogLogger(this.base, this.component ? `${this.component}/${name}` : name, this.bound);
  }

  with(fields: Fields): Logger {
    return new KlogLogger(this.base, this.component, { ...this.bound, ...fields });
  }

  private write(severity: Severity, msg: string, errPart: string, fields: Fields | undefined): void {
    const merged = fields === undefined ? this.bound : { ...this.bound, ...fields };
    const line = `${header(severity, this.base.now(), this.base.pid, this.component)}${quote(msg)}${errPart}${formatFields(merged)}`;
    try {
      // Every line, whatever logged it: a URL with credentials can arrive inside any error text.
      this.base.sink(redactCredentials(line));
    } catch {
      // A logger that throws would turn a full disk or closed pipe into a crash of whatever was logging.
    }
  }
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** klog: `Lmmdd hh:mm:ss.uuuuuu threadid file:line] ` in local time, thread id right-aligned to 7. */
function header(severity: Severity, t: Date, pid: number, component: string): string {
  const date = `${pad(t.getMonth() + 1, 2)}${pad(t.getDate(), 2)}`;
  const time = `${pad(t.getHours(), 2)}:${pad(t.getMinutes(), 2)}:${pad(t.getSeconds(), 2)}`;
  return `${severity}${date} ${time}.${pad(t.getMilliseconds() * 1000, 6)} ${String(pid).padStart(7)} ${component}] `;
}
