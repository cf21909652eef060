/**
 * What a suite of socket tests sets up around each test: a temporary directory for its Unix sockets (made
 * before the suite, removed after it) and cleanups that run after each test, last registered first.
 * `const scratch = useScratch('knp-x-'); ... path.join(scratch.dir(), 'a.sock'); scratch.defer(() => s.close())`.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

export interface Scratch {
  /** The suite's temporary directory (exists between beforeAll and afterAll). */
  dir(): string;
  /** Runs `cleanup` after the current test, before the ones registered earlier. */
  defer(cleanup: () => Promise<void> | void): void;
  /** Runs the pending cleanups now (a test that must see its resources gone before it goes on). */
  runCleanups(): Promise<void>;
}

export function useScratch(prefix: string): Scratch {
  let dir: string | undefined;
  const cleanups: Array<() => Promise<void> | void> = [];
  const runCleanups = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c();
  };
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), prefix));
  });
  afterEach(runCleanups);
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return {
    dir: () => {
      if (dir === undefined)
        throw new Error('useScratch(): the directory exists only between beforeAll and afterAll');
      return dir;
    },
    defer: (cleanup) => void cleanups.push(cleanup),
    runCleanups,
  };
}
