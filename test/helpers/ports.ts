/**
 * Free TCP ports for processes that must be told a port up front (the real binaries take `--agent-port=N`).
 * Prefer listening on port 0 when the code under test allows it.
 *
 * A port is never taken from the kernel's ephemeral range: every outgoing connection (and the suite makes
 * thousands at once in its burst tests) is given a port from that range, so a port found free there could be
 * taken before the process told to use it binds it (EADDRINUSE). Below the range only listeners take ports,
 * and each Jest worker hands out ports from its own slice, checked free on every address, in turn.
 */
import { readFileSync } from 'fs';
import * as net from 'net';

/** Where the ports handed out start: above the well-known and common service ports. */
const FIRST_PORT = 10_000;
/** The kernel's ephemeral range starts here unless /proc says otherwise (Linux's default). */
const DEFAULT_EPHEMERAL_START = 32_768;
/** Jest workers sharing the space below the ephemeral range (more wrap around, still checked free). */
const SLICES = 8;

function ephemeralStart(): number {
  try {
    const start = Number.parseInt(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'), 10);
    return Number.isInteger(start) && start > FIRST_PORT + SLICES * 100 ? start : DEFAULT_EPHEMERAL_START;
  } catch {
    return DEFAULT_EPHEMERAL_START;
  }
}

const sliceSize = Math.floor((ephemeralStart() - FIRST_PORT) / SLICES);
const worker = Number.parseInt(process.env['JEST_WORKER_ID'] ?? '1', 10) || 1;
const sliceStart = FIRST_PORT + ((worker - 1) % SLICES) * sliceSize;
/**
 * Where in the slice this process starts: its pid. Two test runs on one machine (several checkouts tested
 * at once) would otherwise hand out the same ports in the same order and race each other's binaries for
 * them, which a check for a free port cannot prevent.
 */
let next = process.pid % sliceSize;

function nextCandidate(): number {
  const port = sliceStart + next;
  next = (next + 1) % sliceSize;
  return port;
}

/** Listens on every address (IPv6 wildcard, dual stack) or, without IPv6, on every IPv4 address. */
function tryListen(port: number, host: '::' | '0.0.0.0'): Promise<net.Server | null> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(null);
      else if (host === '::' && (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL'))
        resolve(tryListen(port, '0.0.0.0'));
      else reject(err);
    });
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

async function holdFreePort(): Promise<{ port: number; server: net.Server }> {
  for (let tries = 0; tries < sliceSize; tries++) {
    const port = nextCandidate();
    const server = await tryListen(port, '::');
    if (server) return { port, server };
  }
  throw new Error(`no free port in ${sliceStart}-${sliceStart + sliceSize - 1}`);
}

export async function freePort(): Promise<number> {
  const { port, server } = await holdFreePort();
  await close(server);
  return port;
}

/** `count` distinct free ports. */
export async function freePorts(count: number): Promise<number[]> {
  const held: Array<{ port: number; server: net.Server }> = [];
  try {
    for (let i = 0; i < count; i++) held.push(await holdFreePort());
    return held.map((h) => h.port);
  } finally {
    await Promise.all(held.map((h) => close(h.server)));
  }
}
