/**
 * A private `nats-server -js` for the event-log section, as test/helpers/natsServer.ts starts one: a free
 * port on 127.0.0.1, its own store (`-sd`), ready once it has started JetStream, said "Server is ready"
 * and greets a TCP connection with INFO. The process is registered with processes.js, so it is killed with
 * every other child on exit, on an error and on SIGINT/SIGTERM; `dispose()` stops it and deletes the
 * store (the driver's cleanup also removes the store, which lives in its temp dir).
 */
'use strict';
const fs = require('fs');
const net = require('net');
const { spawn } = require('child_process');
const { freePorts, sleep } = require('./common');
const { register, stop } = require('./processes');

const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;

function natsServerBinary() {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) return fromEnv;
  return fs.existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';
}

/** True when a TCP connection succeeds and the server greets with its INFO line. */
function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('INFO')));
    socket.once('error', () => done(false));
  });
}

/**
 * Starts nats-server with JetStream, its store in `storeDir` (created; must not be in use). `dispose()`
 * deletes the store unless `keepStore`.
 */
async function startNatsServer(storeDir, { keepStore = false } = {}) {
  fs.mkdirSync(storeDir, { recursive: true });
  const [port] = await freePorts(1);
  const bin = natsServerBinary();
  const child = register(
    spawn(bin, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let output = '';
  let spawnError;
  const collect = (chunk) => {
    if (output.length < 64 * 1024) output += chunk.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  child.once('error', (err) => (spawnError = err));

  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    await stop(child, 'SIGTERM', STOP_GRACE_MS);
    if (!keepStore) fs.rmSync(storeDir, { recursive: true, force: true, maxRetries: 3 });
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(
    output.includes('Starting JetStream') &&
    output.includes('Server is ready') &&
    (await accepts(port))
  )) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) {
      await dispose();
      throw new Error(
        `${bin} ${spawnError ? `could not start (${spawnError.message})` : `exited (${child.exitCode ?? child.signalCode})`}` +
          `; run scripts/ensure-nats-server.sh or set NATS_SERVER_BIN\n${output.slice(-2000)}`,
      );
    }
    if (Date.now() > deadline) {
      await dispose();
      throw new Error(
        `nats-server not ready on port ${port} within ${READY_TIMEOUT_MS} ms:\n${output.slice(-2000)}`,
      );
    }
    await sleep(25);
  }
  const version = /Version:\s+(\S+)/.exec(output)?.[1] ?? null;
  return {
    child,
    pid: child.pid,
    port,
    url: `nats://127.0.0.1:${port}`,
    storeDir,
    version,
    output: () => output,
    dispose,
  };
}

module.exports = { startNatsServer, natsServerBinary };
