/**
 * A private `nats-server -js` per suite: random free port, temporary store (`-sd`), stop/restart on
 * the same port and store (to simulate an outage), always disposed of. Waits until the server
 * accepts connections and has announced JetStream before resolving.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './waitFor';

export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  readonly running: boolean;
  /** The running server's pid (undefined while stopped), for readings of its CPU in /proc. */
  readonly pid: number | undefined;
  /** The version the server printed at start ("2.9.10"), or null if it printed none. */
  readonly version: string | null;
  /** Stops the server (SIGTERM, then SIGKILL after a grace period); the store is kept. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same store. */
  restart(): Promise<void>;
  /** Stops it and deletes the store. Safe to call more than once. */
  dispose(): Promise<void>;
}

/** JetStream recovery of a small store takes well under a second; allow for a loaded CI machine. */
const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;

export function natsServerBinary(): string {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';
}

export interface NatsServerOptions {
  /**
   * More nats-server configuration (`tls { ... }`, `authorization { ... }`, `accounts { ... }`), written
   * into a config file next to the store; listen address, port and JetStream are set by the helper.
   */
  readonly config?: string;
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const storeDir = await mkdtemp(join(tmpdir(), 'konnectivity-nats-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let disposed = false;
  let version: string | null = null;
  let args = ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir];
  if (options.config !== undefined) {
    const file = join(storeDir, 'nats-server.conf');
    const jetstream = `jetstream { store_dir: ${JSON.stringify(join(storeDir, 'js'))} }`;
    await writeFile(file, `listen: "127.0.0.1:${port}"\n${jetstream}\n${options.config}\n`);
    args = ['-c', file];
  }

  const launch = async (): Promise<void> => {
    const proc = spawn(natsServerBinary(), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    // A worker that dies without running afterAll must not leave a server behind.
    const killOnExit = (): void => void proc.kill('SIGKILL');
    process.once('exit', killOnExit);
    proc.once('exit', () => process.removeListener('exit', killOnExit));
    let output = '';
    const collect = (chunk: Buffer): void => {
      if (output.length < 64 * 1024) output += chunk.toString();
    };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    const exited = (): boolean => proc.exitCode !== null;
    try {
      await waitFor(
        async () => {
          if (exited()) throw new Error(`nats-server exited (${proc.exitCode}): ${output}`);
          return output.includes('Server is ready') && (await accepts(port));
        },
        { timeoutMs: READY_TIMEOUT_MS, description: `nats-server ready on port ${port}`, failFast: exited },
      );
    } catch (err) {
      if (exited()) throw err;
      proc.kill('SIGKILL');
      throw new Error(`nats-server not ready on port ${port}: ${output}`, { cause: err });
    }
    version = /Version:\s+(\S+)/.exec(output)?.[1] ?? null;
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };

  await launch();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    get running() {
      return child !== undefined;
    },
    get pid() {
      return child?.pid;
    },
    get version() {
      return version;
    },
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await stop();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** True when a TCP connection succeeds and the server greets with its INFO line. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('INFO')));
    socket.once('error', () => done(false));
  });
}
