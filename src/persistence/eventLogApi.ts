import type { LifecycleEvent } from '../events';
import type { RecoveryState } from './recoveryState';
import type { ReplayOptions } from './types';

/**
 * The append-only log of lifecycle events. Implementations never slow the byte path: `append` only
 * queues, and every failure after that is retried, counted or logged, never thrown at the caller.
 */
export interface EventLog {
  /** Queues the event. Never throws, never blocks; a refused event is counted and logged. */
  append(event: LifecycleEvent): void;
  /** Resolves when everything appended so far is durable (file) or acked / in the durable outbox (nats). */
  flush(): Promise<void>;
  /** This process's events in append order (see `readAll` for everything the log holds). */
  replay(opts?: ReplayOptions): AsyncIterable<LifecycleEvent>;
  /**
   * The fold of what earlier runs of this process recorded (nothing this run appended), from the last
   * checkpoint plus what follows it. Waits as long as the log needs to become readable (NATS down);
   * rejects with EventLogError('closed') when the log is closed first. Call it once.
   */
  recover(): Promise<RecoveryState>;
  /** Every event the log holds, from every process writing to it. */
  readAll(): AsyncIterable<LifecycleEvent>;
  /** Flushes and releases files and connections. Safe to call twice. */
  close(): Promise<void>;
  readonly backend: 'file' | 'nats';
}
