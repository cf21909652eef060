/**
 * The native memory helper (native/memory.c, src/nativeMemory.ts), built by `npm install`: in a fresh Node
 * process, 64 KiB buffers (the size Node reads sockets into) are made with small long-lived allocations
 * between them, then most are freed, as a transfer leaves glibc's heap. glibc keeps those pages resident;
 * the helper's trim gives them back.
 */
import { execFile } from 'child_process';
import { existsSync } from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { NATIVE_MEMORY_PATH, nativeMemory } from '../src/nativeMemory';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;

interface Outcome {
  freeBefore: number;
  rssBefore: number;
  trimmed: boolean;
  rssAfter: number;
}

async function fragmentThenTrim(): Promise<Outcome> {
  const script = `
const helper = require(${JSON.stringify(NATIVE_MEMORY_PATH)});
const big = [];
const small = [];
for (let i = 0; i < 1600; i++) {
  big.push(Buffer.alloc(65536, 1));
  // Buffers past the pool's size come from malloc too: a few survive between the big ones.
  small.push(Buffer.alloc(8192, 2));
}
for (let i = 0; i < big.length; i++) big[i] = null;
for (let i = 0; i < small.length; i += 8) small[i] = null;
gc();
gc();
setTimeout(() => {
  const freeBefore = helper.freeBytes();
  const rssBefore = process.memoryUsage.rss();
  const trimmed = helper.trim();
  const rssAfter = process.memoryUsage.rss();
  process.stdout.write(JSON.stringify({ freeBefore, rssBefore, trimmed, rssAfter, held: small.length }));
}, 50);
`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '-e', script], {
    encoding: 'utf8',
  });
  return JSON.parse(stdout) as Outcome;
}

describe('the native memory helper', () => {
  it('is built (npm install runs scripts/build-native.js; it needs python3, make and a C compiler)', () => {
    expect(existsSync(NATIVE_MEMORY_PATH)).toBe(true);
    const helper = nativeMemory();
    expect(helper).not.toBeNull();
    expect(helper!.glibc).toBe(process.platform === 'linux' && !existsSync('/lib/ld-musl-x86_64.so.1'));
  });

  it('reads what glibc holds free and gives it back to the system', async () => {
    if (!nativeMemory()?.glibc) throw new Error('this test needs glibc');
    const outcome = await fragmentThenTrim();
    // 1,600 x 64 KiB freed: glibc holds about 100 MiB free, which the kernel still counts as resident.
    expect(outcome.freeBefore).toBeGreaterThan(64 * MiB);
    expect(outcome.trimmed).toBe(true);
    expect(outcome.rssBefore - outcome.rssAfter).toBeGreaterThan(64 * MiB);
  });
});

describe('nativeMemory', () => {
  it('is null, with the reason, when KONNECTIVITY_NATIVE=off', async () => {
    const script = `
const m = require(${JSON.stringify(path.join(__dirname, '../dist/nativeMemory.js'))});
process.stdout.write(JSON.stringify({ helper: m.nativeMemory(), problem: m.nativeMemoryProblem() }));
`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      encoding: 'utf8',
      env: { ...process.env, KONNECTIVITY_NATIVE: 'off' },
    });
    expect(JSON.parse(stdout)).toEqual({ helper: null, problem: 'KONNECTIVITY_NATIVE=off' });
  });
});
