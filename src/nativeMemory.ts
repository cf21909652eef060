/**
 * The native memory helper (native/memory.c, built at install by scripts/build-native.js): glibc's free
 * heap, read and given back. Node has no API for either. Optional: where it was not built (no compiler at
 * install) or cannot load, `nativeMemory()` is null and `nativeMemoryProblem()` says why, once, for the log.
 */
import * as path from 'node:path';

export interface NativeMemory {
  /** False off glibc (musl, macOS), where both calls report nothing to do. */
  readonly glibc: boolean;
  /** `malloc_trim(0)`: true when memory went back to the system. */
  trim(): boolean;
  /** Bytes glibc holds free in its arenas (`mallinfo2().fordblks`). */
  freeBytes(): number;
}

/** Where node-gyp puts the helper, from the package's root (binding.gyp's target name). */
export const NATIVE_MEMORY_FILE = 'build/Release/konnectivity_memory.node';

/** The same from dist/ (and from src/ under the tests). */
export const NATIVE_MEMORY_PATH = path.join(__dirname, '..', NATIVE_MEMORY_FILE);

let loaded: NativeMemory | null | undefined;
let problem: string | null = null;

export function nativeMemory(): NativeMemory | null {
  if (loaded !== undefined) return loaded;
  if (process.env.KONNECTIVITY_NATIVE === 'off') {
    problem = 'KONNECTIVITY_NATIVE=off';
    return (loaded = null);
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a compiled addon, found at run time
    const helper = require(NATIVE_MEMORY_PATH) as Partial<NativeMemory>;
    if (typeof helper.trim !== 'function' || typeof helper.freeBytes !== 'function') {
      throw new Error('it lacks trim() or freeBytes()');
    }
    loaded = helper as NativeMemory;
    if (!loaded.glibc) problem = 'this C library is not glibc';
  } catch (err) {
    problem = `${NATIVE_MEMORY_PATH} did not load: ${err instanceof Error ? err.message : String(err)}`;
    loaded = null;
  }
  return loaded;
}

/** Why glibc's free heap is not given back here, or null when it is. */
export function nativeMemoryProblem(): string | null {
  nativeMemory();
  return problem;
}
