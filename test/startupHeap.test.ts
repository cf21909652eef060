/**
 * The start-up hold on V8's young generation (src/startupHeap.ts), in fresh Node processes running the
 * compiled module (`npm run build` first, as for the e2e tests): a test process's own heap has long grown.
 */
import { execFileSync } from 'child_process';
import * as path from 'path';

jest.setTimeout(60_000);

const MODULE = path.join(__dirname, '../dist/startupHeap.js');

interface NewSpaceSizes {
  initial: number;
  held: number;
  released: number;
}

/** Allocates a few MiB that survive, under the hold and again after it, reporting the new space's size. */
function run(hold: boolean, nodeArgs: string[] = []): NewSpaceSizes {
  const script = `
const heap = require(${JSON.stringify(MODULE)});
const v8 = require('v8');
const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
const keep = [];
const allocate = () => { for (let i = 0; i < 300000; i++) keep.push({ i, s: 'x' + i }); };
const initial = newSpace();
if (${hold}) heap.holdYoungGeneration();
allocate();
const held = newSpace();
heap.releaseYoungGeneration();
allocate();
process.stdout.write(JSON.stringify({ initial, held, released: newSpace() }));
`;
  return JSON.parse(
    execFileSync(process.execPath, [...nodeArgs, '-e', script], { encoding: 'utf8' }),
  ) as NewSpaceSizes;
}

describe('holdYoungGeneration', () => {
  it('keeps the young generation from growing until released, then lets it grow', () => {
    const unheld = run(false);
    const sizes = run(true);
    expect(sizes.held).toBeLessThan(unheld.held);
    expect(sizes.released).toBeGreaterThan(sizes.held);
  });

  it("holds under the launchers' cap on the young generation's size", () => {
    const unheld = run(false, ['--max-semi-space-size=4']);
    const sizes = run(true, ['--max-semi-space-size=4']);
    expect(sizes.held).toBeLessThan(unheld.held);
    expect(sizes.released).toBeGreaterThan(sizes.held);
  });

  it("leaves an operator's own growth factor alone", () => {
    const unheld = run(false, ['--semi-space-growth-factor=4']);
    const sizes = run(true, ['--semi-space-growth-factor=4']);
    expect(sizes.held).toBe(unheld.held);
  });
});
