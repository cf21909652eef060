/**
 * A small round-robin TCP load balancer on 127.0.0.1, like the one in front of several proxy servers: each
 * accepted connection is piped to the next backend port; a backend that refuses makes it close the client.
 */
import * as net from 'net';

export interface LoadBalancer {
  readonly port: number;
  setBackends(ports: readonly number[]): void;
  close(): Promise<void>;
}

export async function startLoadBalancer(backends: readonly number[]): Promise<LoadBalancer> {
  let ports = [...backends];
  let next = 0;
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  const server = net.createServer((client) => {
    track(client);
    if (ports.length === 0) {
      client.destroy();
      return;
    }
    const port = ports[next++ % ports.length]!;
    const upstream = net.connect({ host: '127.0.0.1', port });
    track(upstream);
    client.pipe(upstream).pipe(client);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let closing: Promise<void> | null = null;
  return {
    port: (server.address() as net.AddressInfo).port,
    setBackends: (p) => {
      ports = [...p];
    },
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}
