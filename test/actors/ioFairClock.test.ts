import * as net from 'net';
import { ActorHost } from '../../src/actors/actorHost';
import { ioFairClock } from '../../src/actors/ioFairClock';
import * as machines from '../../src/actors/machines';
import { inertConnectionPort } from './inertPort';

/** Holds the event loop, as a burst of work or a starved CPU does. Not a timing assertion. */
function holdEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy on purpose
  }
}

describe('actor delays (ioFairClock)', () => {
  let server: net.Server;
  let port: number;
  const sockets: net.Socket[] = [];

  beforeAll(async () => {
    server = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('let a connect that completed while the loop was held win over a dial timeout that expired meanwhile', async () => {
    const host = new ActorHost();
    let socket: net.Socket | undefined;
    const outcome = new Promise<string>((resolve) => {
      const conn = host.start('endpointConnection', machines.connection.machine, {
        bind: (actor) =>
          machines.connection.bind(
            actor,
            inertConnectionPort({
              startDial: () => {
                socket = net.connect({ host: '127.0.0.1', port });
                socket.once('connect', () => conn.send({ type: 'DIAL_SUCCEEDED', connectID: '1' }));
              },
              reportEstablished: () => resolve('established'),
              reportTimedOut: () => resolve('timedOut'),
              abandonDial: () => socket?.destroy(),
            }),
          ),
        input: { timeoutMs: 20 },
      });
    });
    // The kernel completes a loopback connect at once; the loop only hears of it after this.
    holdEventLoop(200);
    await expect(outcome).resolves.toBe('established');
    socket?.destroy();
    host.stopAll();
  });

  it('still fire a delay that really ran out, and never one that was cleared', async () => {
    const fired: string[] = [];
    let due!: () => void;
    const dueFired = new Promise<void>((resolve) => (due = resolve));
    ioFairClock.setTimeout(() => {
      fired.push('due');
      due();
    }, 5);
    const cleared = ioFairClock.setTimeout(() => fired.push('cleared'), 5);
    ioFairClock.clearTimeout(cleared);
    // Cleared after its timer expired but before the deferred call: still never runs. Both timers have
    // the same delay, so Node runs them in this order in the same timers phase.
    const late = ioFairClock.setTimeout(() => fired.push('cleared late'), 1);
    setTimeout(() => ioFairClock.clearTimeout(late), 1);
    holdEventLoop(20);
    await dueFired; // the other two expired first, so their deferred calls would have run before this one
    expect(fired).toEqual(['due']);
  });
});
