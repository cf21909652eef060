/**
 * The recovery state of what a log has durably written, kept current batch by batch so a checkpoint can
 * be taken at any written position without reading the log again. Until recovery has folded the earlier
 * runs there is nothing to add this run's records to, so they wait here (bounded) and are folded then.
 */
import type { LifecycleEvent } from '../events';
import type { Checkpoint } from './checkpoint';
import { liveState } from './recovery';
import type { RecoveryState } from './recoveryState';

/**
 * Records written before recovery finished that are kept to fold afterwards. Recovery starts right after
 * open, so this is only reached if it takes very long; beyond it this run writes no checkpoint and the next
 * start folds from the last one (slower, never wrong).
 */
const MAX_EARLY_EVENTS = 200_000;

export class DurableFold {
  private live: ReturnType<typeof liveState> | undefined;
  private early: LifecycleEvent[] | undefined = [];
  private position: number;
  private sinceCheckpoint = 0;

  /** `position`: the last position written before this run. */
  constructor(position: number) {
    this.position = position;
  }

  /** Events durably written, the last of them at `position`. */
  written(position: number, events: readonly LifecycleEvent[]): void {
    this.position = position;
    this.sinceCheckpoint += events.length;
    if (this.live !== undefined) {
      for (const e of events) this.live.apply(e);
    } else if (this.early !== undefined) {
      if (this.early.length + events.length > MAX_EARLY_EVENTS) this.early = undefined;
      else this.early.push(...events);
    }
  }

  /** What recovery folded from earlier runs (everything before this run's first record). */
  recovered(previous: RecoveryState): void {
    if (this.early === undefined) return;
    this.live = liveState(previous);
    for (const e of this.early) this.live.apply(e);
    this.early = undefined;
  }

  /** Whether recovery has handed over the earlier runs' state (retention waits for it). */
  get isRecovered(): boolean {
    return this.live !== undefined || this.early === undefined;
  }

  /** Events written since the last `checkpoint()`. */
  get pending(): number {
    return this.sinceCheckpoint;
  }

  /** The state at the last written position, once recovery has run; resets `pending`. */
  checkpoint(logId?: string): Checkpoint | undefined {
    if (this.live === undefined) return undefined;
    this.sinceCheckpoint = 0;
    return { position: this.position, ...(logId !== undefined ? { logId } : {}), state: this.live.state };
  }
}
