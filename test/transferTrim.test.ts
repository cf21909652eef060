/**
 * When the memory a transfer grew is given back (src/transferTrim.ts): only after large transfers, once the
 * data path is nearly still, at most once per interval, and once for transfers that end together. Uses the
 * real native helper.
 */
import { performance } from 'node:perf_hooks';
import { createLogger, discardSink } from '../src/observability/logger';
import { nativeMemory } from '../src/nativeMemory';
import {
  LARGE_TRANSFER_BYTES,
  QUIET_BYTES,
  dataMoved,
  startTransferTrim,
  stopTransferTrim,
  transferEnded,
} from '../src/transferTrim';

jest.setTimeout(30_000);

const log = createLogger({ verbosity: 0, component: 'test', sink: discardSink });
const INTERVAL_MS = 300;
const SETTLE_MS = 50;

afterEach(() => stopTransferTrim());

/** Starts the trimmer and returns the times of its trims, as they happen. */
function started(): number[] {
  const at: number[] = [];
  const options = {
    minIntervalMs: INTERVAL_MS,
    settleMs: SETTLE_MS,
    onTrim: () => at.push(performance.now()),
  };
  expect(startTransferTrim(log, options)).toBe(true);
  return at;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(done: () => boolean): Promise<void> {
  while (!done()) await sleep(10);
}

/** A quiet spell long enough for any trim that was due to have run. */
const quietSpell = () => sleep(INTERVAL_MS * 2);

describe('transferEnded', () => {
  it('trims after a large transfer, once for transfers that end together, never for small ones', async () => {
    const at = started();
    transferEnded(LARGE_TRANSFER_BYTES - 1);
    transferEnded(4096);
    await quietSpell();
    expect(at).toHaveLength(0);

    transferEnded(LARGE_TRANSFER_BYTES);
    transferEnded(2 * LARGE_TRANSFER_BYTES);
    transferEnded(3 * LARGE_TRANSFER_BYTES);
    await until(() => at.length === 1);
    await quietSpell();
    expect(at).toHaveLength(1);
  });

  it('waits out the interval after a trim, then trims once more', async () => {
    const at = started();
    transferEnded(LARGE_TRANSFER_BYTES);
    await until(() => at.length === 1);
    transferEnded(LARGE_TRANSFER_BYTES);
    transferEnded(LARGE_TRANSFER_BYTES);
    await until(() => at.length === 2);
    // A lower bound only (timers never fire early): the second trim did wait.
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(INTERVAL_MS - 1);
    await quietSpell();
    expect(at).toHaveLength(2);
  });

  it('waits while other connections keep moving data, and trims once they stop', async () => {
    const at = started();
    transferEnded(LARGE_TRANSFER_BYTES);
    // Another transfer at full speed: a window's worth of bytes every 10 ms, for 20 windows.
    let busy = true;
    const stream = async () => {
      for (let i = 0; i < 2 * (INTERVAL_MS / 10) && busy; i++) {
        dataMoved(QUIET_BYTES);
        await sleep(10);
      }
    };
    await stream();
    busy = false;
    expect(at).toHaveLength(0);
    await until(() => at.length === 1);
    // A trickle below the bar does not hold a trim back.
    transferEnded(LARGE_TRANSFER_BYTES);
    dataMoved(QUIET_BYTES / 4);
    await until(() => at.length === 2);
  });

  it('does nothing until started, and after it is stopped', async () => {
    let trims = 0;
    transferEnded(LARGE_TRANSFER_BYTES);
    expect(startTransferTrim(log, { minIntervalMs: INTERVAL_MS, onTrim: () => trims++ })).toBe(true);
    transferEnded(LARGE_TRANSFER_BYTES);
    stopTransferTrim();
    await quietSpell();
    expect(trims).toBe(0);
  });

  it('does not start without the native helper', () => {
    expect(startTransferTrim(log, { native: null })).toBe(false);
    expect(nativeMemory()).not.toBeNull();
  });
});
