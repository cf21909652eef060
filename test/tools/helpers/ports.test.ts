import { readFileSync } from 'fs';
import * as net from 'net';
import { freePort, freePorts } from '../../helpers/ports';

function listen(port: number, host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

const close = (s: net.Server): Promise<void> => new Promise((resolve) => s.close(() => resolve()));

describe('freePorts', () => {
  it('hands out distinct ports below the ephemeral range that can then be listened on', async () => {
    const ephemeralStart = Number.parseInt(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'),
      10,
    );
    const ports = await freePorts(6);
    expect(new Set(ports).size).toBe(6);
    for (const port of ports) expect(port).toBeLessThan(ephemeralStart);
    const servers = await Promise.all(ports.map((p) => listen(p, '127.0.0.1')));
    await Promise.all(servers.map(close));
  });

  it('skips a port someone else listens on, on any address', async () => {
    const first = await freePort();
    // The next candidate is taken by another listener on loopback only: it must not be handed out.
    const squatter = await listen(first + 1, '127.0.0.1');
    try {
      const ports = await freePorts(3);
      expect(ports).not.toContain(first + 1);
    } finally {
      await close(squatter);
    }
  });

  it('starts at a different place for each process, so concurrent test runs do not race for the same ports', async () => {
    const firstPortOf = async (pid: number): Promise<number> => {
      const real = Object.getOwnPropertyDescriptor(process, 'pid')!;
      let ports: typeof import('../../helpers/ports') | undefined;
      Object.defineProperty(process, 'pid', { ...real, value: pid });
      try {
        await jest.isolateModulesAsync(async () => {
          ports = await import('../../helpers/ports');
        });
      } finally {
        Object.defineProperty(process, 'pid', real);
      }
      return ports!.freePort();
    };
    // One after the other: the first port is free again when the second process looks.
    const a = await firstPortOf(4000);
    const b = await firstPortOf(4001);
    // Consecutive pids (two runs started one after the other) start on neighbouring ports, not the same.
    expect(b).not.toBe(a);
  });
});
