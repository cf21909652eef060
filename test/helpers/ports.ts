/**
 * Free TCP ports on 127.0.0.1 for processes that must be told a port up front (the real binaries take
 * `--agent-port=N`). Prefer listening on port 0 when the code under test allows it: a port found here can
 * in principle be taken by someone else before it is used.
 */
import * as net from 'net';

function listenOnce(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function portOf(server: net.Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  return address.port;
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function freePort(): Promise<number> {
  const server = await listenOnce();
  const port = portOf(server);
  await close(server);
  return port;
}

/** `count` distinct free ports: all are held open together, so the kernel cannot hand out one twice. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await listenOnce());
    return servers.map(portOf);
  } finally {
    await Promise.all(servers.map(close));
  }
}
