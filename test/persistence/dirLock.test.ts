/**
 * The data-dir lock: a writer that died (even one not yet reaped by its parent, or whose pid now belongs
 * to another process) must not keep a restarted process out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lockDirectory } from '../../src/persistence/dirLock';
import { EventLogError } from '../../src/persistence/errors';
import { tempDir, waitFor } from './fixtures';

/**
 * A child that is killed but never reaped: `sh` starts `sleep` in the background and then execs into
 * another `sleep`, which never calls wait(), so the killed background sleep stays a zombie.
 */
async function zombieOwner(): Promise<{ pid: number; parent: ChildProcess }> {
  const parent = spawn('sh', ['-c', 'sleep 600 & echo $!; exec sleep 600'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const pid = await new Promise<number>((resolve, reject) => {
    parent.stdout.once('data', (chunk: Buffer) => resolve(Number.parseInt(chunk.toString(), 10)));
    parent.once('error', reject);
  });
  // Until `sh` has exec'd, it may still reap its background child itself (dash does when SIGCHLD
  // arrives before the exec): kill only once the parent is the `sleep` that never waits.
  await waitFor(
    async () => (await readFile(`/proc/${parent.pid}/comm`, 'utf8')).trim() === 'sleep',
    `process ${parent.pid} to exec into sleep`,
  );
  process.kill(pid, 'SIGKILL');
  await waitFor(
    async () => (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.startsWith('Z') === true,
    `process ${pid} to be a zombie`,
  );
  return { pid, parent };
}

describe('data directory lock', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
    }
    await dir.remove();
  });

  it('given a LOCK owned by a killed, unreaped (zombie) process, when a new writer locks, then it gets the lock at once', async () => {
    const { pid, parent } = await zombieOwner();
    children.push(parent);
    await writeFile(join(dir.path, 'LOCK'), `${pid}\n`);

    const release = await lockDirectory(dir.path);

    expect((await readFile(join(dir.path, 'LOCK'), 'utf8')).split(/\s/)[0]).toBe(String(process.pid));
    await release();
  });

  it('given a LOCK whose pid now belongs to a process started later, when a new writer locks, then it gets the lock', async () => {
    const other = spawn('sleep', ['600'], { stdio: 'ignore' });
    children.push(other);
    // Recorded with a start time that is not the running process's: the owner died and its pid was reused.
    await writeFile(join(dir.path, 'LOCK'), `${other.pid} 1\n`);

    const release = await lockDirectory(dir.path);
    await release();
  });

  it('given a LOCK held by a live process, when a new writer locks, then it is refused as locked', async () => {
    const live = spawn('sleep', ['600'], { stdio: 'ignore' });
    children.push(live);
    await writeFile(join(dir.path, 'LOCK'), `${live.pid}\n`);

    await expect(lockDirectory(dir.path)).rejects.toMatchObject({ reason: 'locked' });
    await expect(lockDirectory(dir.path)).rejects.toBeInstanceOf(EventLogError);
  });

  it('given a lock taken by this process, when it is released and taken again, then both succeed', async () => {
    const first = await lockDirectory(dir.path);
    await expect(lockDirectory(dir.path)).rejects.toMatchObject({ reason: 'locked' });
    await first();
    const second = await lockDirectory(dir.path);
    await second();
  });
});
