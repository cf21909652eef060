/**
 * A helper process of the benchmark (target, client, swarm, baseline servers) that prints JSON lines and
 * takes JSON commands on stdin, started through the test harness's startProcess (process group, parent-death
 * signal, killed on exit). `next(pred, ms)` waits for the next line matching `pred`; `send(obj)` writes a
 * command line.
 */
import * as path from 'path';
import { startProcess, type ManagedProcess } from '../test/helpers/processes';
import type { Msg } from './common';

/** Grace period for a helper to exit after its stdin closed and SIGTERM, before SIGKILL. */
const HELPER_STOP_MS = 2_000;

interface Waiter {
  pred: (m: Msg) => boolean;
  resolve: (m: Msg) => void;
  reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

export class LineChild {
  readonly process: ManagedProcess;
  private readonly lines: Msg[] = [];
  private readonly waiters: Waiter[] = [];

  /** `script` is a compiled helper next to this file (e.g. 'target.js'). */
  constructor(
    script: string,
    args: readonly string[],
    readonly options: { name?: string; env?: NodeJS.ProcessEnv } = {},
  ) {
    this.process = startProcess(path.join(__dirname, script), args, {
      name: options.name ?? script,
      stdin: 'pipe',
      ...(options.env ? { env: options.env } : {}),
    });
    this.process.onStdoutLine((line) => {
      let msg: Msg;
      try {
        msg = JSON.parse(line) as Msg;
      } catch {
        return;
      }
      this.lines.push(msg);
      this.flush();
    });
    void this.process.exited.then(() => this.flush());
  }

  get name(): string {
    return this.process.name;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  next(pred: (m: Msg) => boolean, timeoutMs: number): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const w: Waiter = { pred, resolve, reject };
      w.timer = setTimeout(
        () => this.settle(w, new Error(`${this.name}: no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push(w);
      this.flush();
    });
  }

  send(obj: object): void {
    this.process.send(`${JSON.stringify(obj)}\n`);
  }

  async stop(): Promise<void> {
    this.process.endInput();
    await this.process.stop('SIGTERM', HELPER_STOP_MS);
  }

  private flush(): void {
    for (const w of [...this.waiters]) {
      const i = this.lines.findIndex(w.pred);
      if (i >= 0) {
        const [msg] = this.lines.splice(i, 1);
        this.settle(w, null, msg);
      } else if (!this.process.isRunning) {
        this.settle(
          w,
          this.process.error(
            `${this.name} exited (${JSON.stringify(this.process.exitStatus)}) before answering`,
          ),
        );
      }
    }
  }

  private settle(w: Waiter, err: Error | null, msg?: Msg): void {
    clearTimeout(w.timer);
    const i = this.waiters.indexOf(w);
    if (i < 0) return;
    this.waiters.splice(i, 1);
    if (err) w.reject(err);
    else w.resolve(msg!);
  }
}
