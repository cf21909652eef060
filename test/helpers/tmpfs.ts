/**
 * A tiny tmpfs mounted for one test: a disk that really fills up (ENOSPC) or is really read-only (EROFS),
 * which file permissions cannot give a test that runs as root. Needs the right to mount (root or
 * CAP_SYS_ADMIN), as the CI container has.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

export interface Tmpfs {
  readonly path: string;
  /** Remounts read-write or read-only, keeping the contents. */
  remount(mode: 'rw' | 'ro'): void;
  /** Safe to call more than once. */
  unmount(): void;
}

export function mountTmpfs(path: string, sizeBytes: number, mode: 'rw' | 'ro' = 'rw'): Tmpfs {
  mkdirSync(path, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},${mode}`, 'tmpfs', path]);
  let mounted = true;
  return {
    path,
    remount: (m) => void execFileSync('mount', ['-o', `remount,${m}`, path]),
    unmount: () => {
      if (!mounted) return;
      mounted = false;
      execFileSync('umount', ['-l', path]);
    },
  };
}
