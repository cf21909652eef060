/**
 * A TCP relay on 127.0.0.1 that can turn into a black hole: the connections stay open but nothing passes
 * either way any more, as with a frozen peer or a network that silently drops packets.
 */
import * as net from 'net';

export interface Relay {
  readonly port: number;
  /** Stops forwarding in both directions; bytes wait in the sockets, nothing is closed. */
  blackHole(): void;
  close(): Promise<void>;
}

export async function startRelay(targetPort: number): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  let holed = false;
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    track(client);
    track(upstream);
    client.on('data', (chunk: Buffer) => {
      if (!holed) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!holed) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let closing: Promise<void> | null = null;
  return {
    port: (server.address() as net.AddressInfo).port,
    blackHole: () => {
      holed = true;
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
