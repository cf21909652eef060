/**
 * One writer per log directory. Two writers (a server and an agent given the same --data-dir, or the
 * same identity started twice) would interleave records and corrupt each other's seq, so the second
 * is refused at start-up. Node has no flock: the lock is a `LOCK` file holding the owner's pid and its
 * start time, taken over when that process is gone. "Gone" includes dead-but-present: a zombie (killed,
 * not yet reaped by its parent, which under a container runtime can take seconds) and a pid reused by
 * a process that started later than the owner. The same pid as ours is treated as our own previous
 * incarnation (containers restart as pid 1).
 */
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EventLogError } from './errors';

const LOCK_FILE = 'LOCK';
/** Directories this process has open: a second open in the same process is refused too. */
const held = new Set<string>();

export type ReleaseLock = () => Promise<void>;

interface Owner {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot); absent in locks written without it. */
  readonly startTime?: string;
}

export async function lockDirectory(dir: string): Promise<ReleaseLock> {
  const path = join(dir, LOCK_FILE);
  if (held.has(path)) throw new EventLogError('locked', `${dir} is already open in this process`);
  const owner = await readOwner(path);
  if (owner !== undefined && owner.pid !== process.pid && (await isAlive(owner))) {
    throw new EventLogError('locked', `${dir} is in use by process ${owner.pid}`);
  }
  held.add(path);
  try {
    const start = (await procStat(process.pid))?.startTime;
    await writeFile(path, start === undefined ? `${process.pid}\n` : `${process.pid} ${start}\n`);
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

async function readOwner(path: string): Promise<Owner | undefined> {
  try {
    const [pidText, startTime] = (await readFile(path, 'utf8')).trim().split(/\s+/);
    const pid = Number.parseInt(pidText ?? '', 10);
    if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
    return startTime === undefined || startTime === '' ? { pid } : { pid, startTime };
  } catch {
    return undefined;
  }
}

async function isAlive(owner: Owner): Promise<boolean> {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else, which still makes it a candidate live writer.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = await procStat(owner.pid);
  // No /proc (not Linux): kill(0) is all we know.
  if (stat === undefined) return true;
  // Z: exited, waiting to be reaped; X: being torn down. Neither can write again.
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return owner.startTime === undefined || owner.startTime === stat.startTime;
}

/** State and start time from /proc/<pid>/stat; the command name may hold spaces and parentheses. */
async function procStat(pid: number): Promise<{ state: string; startTime: string } | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the command: state is field 3 of the line, starttime field 22.
  const state = fields[0];
  const startTime = fields[19];
  return state === undefined || startTime === undefined ? undefined : { state, startTime };
}
