/**
 * An event log whose backend could not be opened at start-up (data directory not writable, disk full,
 * another writer holding the lock): the process starts anyway, events wait in a bounded buffer, and the
 * backend is opened again every few seconds. Once it opens, the buffer goes to it in order and
 * everything is delegated; recovery runs then.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LifecycleEvent } from '../events';
import type { DropReporter } from './dropReporter';
import { EventLogError, errorText } from './errors';
import type { EventLog } from './eventLogApi';
import type { RecoveryState } from './recoveryState';
import type { EventLogLogger, ReplayOptions } from './types';

/** Often enough that a fixed disk is picked up within seconds, rarely enough to cost nothing. */
const REOPEN_INTERVAL_MS = 5000;
/** One line per this many failed attempts (about a minute) while the log stays unavailable. */
const LOG_EVERY_ATTEMPTS = 12;
/** Events kept while the log is unavailable (~50 MB at most); beyond it they are dropped and counted. */
const MAX_BUFFERED = 100_000;

export class RetryingOpenLog implements EventLog {
  private inner: EventLog | undefined;
  private buffer: LifecycleEvent[] = [];
  private closed = false;
  private readonly stop = new AbortController();
  private readonly opened: Promise<EventLog | undefined>;

  constructor(
    readonly backend: 'file' | 'nats',
    open: () => Promise<EventLog>,
    private readonly deps: { readonly logger: EventLogLogger; readonly dropped: DropReporter },
  ) {
    this.opened = this.keepOpening(open);
  }

  append(event: LifecycleEvent): void {
    if (this.inner !== undefined) return this.inner.append(event);
    if (this.closed) return this.deps.dropped('closed', 1);
    if (this.buffer.length >= MAX_BUFFERED) return this.deps.dropped('queue-full', 1);
    this.buffer.push(event);
  }

  flush(): Promise<void> {
    if (this.inner !== undefined) return this.inner.flush();
    return Promise.reject(new EventLogError('read-failed', 'the event log is not open yet'));
  }

  async recover(): Promise<RecoveryState> {
    const inner = await this.opened;
    if (inner === undefined) throw new EventLogError('closed', 'the event log was closed before it opened');
    return inner.recover();
  }

  async *replay(opts?: ReplayOptions): AsyncIterable<LifecycleEvent> {
    yield* await this.whenOpen('replay', (log) => log.replay(opts));
  }

  async *readAll(): AsyncIterable<LifecycleEvent> {
    yield* await this.whenOpen('read', (log) => log.readAll());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort();
    const inner = await this.opened;
    if (inner !== undefined) return inner.close();
    if (this.buffer.length > 0) this.deps.dropped('closed', this.buffer.length);
    this.buffer = [];
  }

  private async whenOpen<T>(what: string, f: (log: EventLog) => T): Promise<T> {
    const inner = await this.opened;
    if (inner === undefined) throw new EventLogError('closed', `cannot ${what}: the event log was closed`);
    return f(inner);
  }

  private async keepOpening(open: () => Promise<EventLog>): Promise<EventLog | undefined> {
    for (let attempt = 1; ; attempt++) {
      await sleep(REOPEN_INTERVAL_MS, undefined, { signal: this.stop.signal }).catch(() => undefined);
      if (this.closed) return undefined;
      let log: EventLog;
      try {
        log = await open();
      } catch (err) {
        if (attempt % LOG_EVERY_ATTEMPTS === 0) {
          this.deps.logger.error('event log still cannot be opened; the tunnel runs, events wait', {
            err: errorText(err),
            waiting: this.buffer.length,
          });
        }
        continue;
      }
      if (this.closed) {
        await log.close();
        return undefined;
      }
      this.deps.logger.info('event log opened', { buffered: this.buffer.length });
      for (const e of this.buffer) log.append(e);
      this.buffer = [];
      this.inner = log;
      return log;
    }
  }
}
