/**
 * One writer per log directory. Two writers (a server and an agent given the same --data-dir, or the
 * same identity started twice) would interleave records and corrupt each other's seq, so the second
 * is refused at start-up. Node has no flock: the lock is a `LOCK` file holding the owner's pid,
 * taken over when that process is gone. A pid reused by an unrelated process after a crash would look
 * alive; the same pid as ours is treated as our own previous incarnation (containers restart as pid 1).
 */
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EventLogError } from './errors';

const LOCK_FILE = 'LOCK';
/** Directories this process has open: a second open in the same process is refused too. */
const held = new Set<string>();

export type ReleaseLock = () => Promise<void>;

export async function lockDirectory(dir: string): Promise<ReleaseLock> {
  const path = join(dir, LOCK_FILE);
  if (held.has(path)) throw new EventLogError('locked', `${dir} is already open in this process`);
  const owner = await readOwner(path);
  if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
    throw new EventLogError('locked', `${dir} is in use by process ${owner}`);
  }
  held.add(path);
  try {
    await writeFile(path, `${process.pid}\n`);
  } catch (err) {
    held.delete(path);
    throw err;
  }
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    held.delete(path);
    await unlink(path).catch(() => undefined);
  };
}

async function readOwner(path: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(path, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else, which still makes it a live writer.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
