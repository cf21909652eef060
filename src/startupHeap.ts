/**
 * Keeps V8's young generation at its initial size while a binary starts. Loading the code and building the
 * process allocates megabytes that all survive, which V8 reads as a program whose young objects live, so it
 * grows the young generation up to the launchers' cap (1 → 2 MiB per semi-space; 1 → 4 under the earlier
 * cap, when those pages were about 2 MiB of an idle server's or agent's RSS, measured with the bench's
 * start-up); they stay resident while the process idles. Once the process is serving, V8's own default is
 * back, so under load the young generation grows exactly as before and throughput is unchanged (up to the
 * launchers' cap, `--max-semi-space-size=2`). An operator who sets `--semi-space-growth-factor` on the
 * command line or in NODE_OPTIONS keeps it: the hold and its release would overwrite it, so then nothing
 * here touches it. A size (`--max-semi-space-size`, the launchers' own, or `--min-semi-space-size`) only
 * bounds the growth the hold pauses, so the hold applies with one.
 *
 * `--semi-space-growth-factor` is read by V8 each time it decides to grow the new space, so setting it at
 * run time takes effect (test/startupHeap.test.ts checks that on this Node).
 */
import { setFlagsFromString } from 'node:v8';

/** V8's default for `--semi-space-growth-factor` (V8 11, Node 20): what serving runs with. */
export const V8_DEFAULT_SEMI_SPACE_GROWTH_FACTOR = 2;

let held = false;

function operatorTunedGrowth(): boolean {
  return /semi[-_]space[-_]growth[-_]factor/.test(
    [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' '),
  );
}

/** From here until `releaseYoungGeneration()`, the young generation does not grow. */
export function holdYoungGeneration(): void {
  if (held || operatorTunedGrowth()) return;
  setFlagsFromString('--semi-space-growth-factor=1');
  held = true;
}

/** Back to V8's default growth; safe to call more than once, and without a hold. */
export function releaseYoungGeneration(): void {
  if (!held) return;
  setFlagsFromString(`--semi-space-growth-factor=${V8_DEFAULT_SEMI_SPACE_GROWTH_FACTOR}`);
  held = false;
}
