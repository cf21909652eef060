/**
 * The fleet inspector's data API (`api/fleet`, `api/events`) over a real FleetStore and the real HTTP
 * handler: the fleet as it stood at a past time or after N events, and a clear 400 for a moment it cannot
 * read, rather than the live fleet passed off as the past.
 */
import { eventFactory, type LifecycleEvent } from '../../src/events';
import { fleetBackend } from '../../src/inspector/fleet/fleetBackend';
import { FleetStore } from '../../src/inspector/fleet/fleetStore';
import { inspectorHandler } from '../../src/inspector/http/inspectorHandler';
import { startHandlerServer, type RunningHttpServer } from '../../src/observability/httpEndpoints';
import { createLogger } from '../../src/observability/logger';

const START = Date.parse('2026-01-01T00:00:00.000Z');
let now = START;
const clock = { now: () => now };
const cp1 = eventFactory({ serverId: 'cp-1', clock });

/** Each event one second after the one before: t+0 started, t+1 agent, t+2..4 a dial, t+5 closed. */
function history(): LifecycleEvent[] {
  const at = (seconds: number, make: () => LifecycleEvent): LifecycleEvent => {
    now = START + seconds * 1000;
    return make();
  };
  const key = { random: 7n, destination: '10.0.0.5:10250' };
  return [
    at(0, () => cp1.serverStarted({ mode: 'grpc', serverCount: 1 })),
    at(1, () =>
      cp1.agentConnected({ agentId: 'node-1', streamId: 'node-1#1', identifiers: '', remoteAddress: 'x' }),
    ),
    at(2, () => cp1.dialRequested({ ...key, mode: 'grpc', protocol: 'tcp' })),
    at(3, () => cp1.dialEstablished({ ...key, agentId: 'node-1', connectID: 1n, latencyMs: 3 })),
    at(4, () => cp1.connOpened({ ...key, agentId: 'node-1', connectID: 1n, mode: 'grpc' })),
    at(5, () =>
      cp1.connClosed({
        ...key,
        agentId: 'node-1',
        connectID: 1n,
        bytesToAgent: 10,
        bytesFromAgent: 20,
        durationMs: 1000,
        closedBy: 'frontend',
        reason: 'CLOSE_REQ',
      }),
    ),
  ];
}

let server: RunningHttpServer;

beforeAll(async () => {
  const store = new FleetStore();
  for (const event of history()) store.add(event);
  server = await startHandlerServer({
    name: 'inspector',
    host: '127.0.0.1',
    port: 0,
    handlers: [inspectorHandler(fleetBackend(store, () => ({ location: 'file:/test', error: null })))],
    logger: createLogger({ verbosity: 0, component: 'test' }),
  });
});
afterAll(() => server?.close());

interface Answer {
  readonly status: number;
  /** The JSON as it came: a fleet view, an events list or `{error}`. */
  readonly body: {
    position?: { event: LifecycleEvent | null };
    connections?: unknown;
    servers?: unknown;
    events?: LifecycleEvent[];
    error?: string;
  };
}

async function get(route: string): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${server.port}/inspector/api/${route}`);
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

const iso = (seconds: number): string => new Date(START + seconds * 1000).toISOString();

describe('fleet API', () => {
  it('answers the fleet as it stood at a past time: the connection open at t+4.5 s, closed now', async () => {
    const past = await get(`fleet?time=${encodeURIComponent(iso(4.5))}`);
    expect(past.status).toBe(200);
    expect(past.body.position).toMatchObject({ at: 5, total: 6, time: iso(4) });
    expect(past.body.position?.event?.type).toBe('conn.opened');
    expect(past.body.connections).toMatchObject({ open: 1, listed: [{ state: 'open' }] });
    const live = await get('fleet');
    expect(live.body.position).toMatchObject({ at: 6, total: 6 });
    expect(live.body.connections).toMatchObject({
      open: 0,
      listed: [{ state: 'closed', bytesToAgent: 10 }],
    });
    // Before the first event: nothing yet.
    const before = await get(`fleet?time=${encodeURIComponent(iso(-1))}`);
    expect(before.body.position).toMatchObject({ at: 0, event: null });
    expect(before.body.servers).toEqual([]);
  });

  it('answers the fleet after N events, and the events among the first N', async () => {
    const after2 = await get('fleet?at=2');
    expect(after2.body.servers).toMatchObject([{ id: 'cp-1', agents: ['node-1'], dials: 0 }]);
    const events = await get('events?at=4&type=dial.');
    expect(events.body.events?.map((e) => e.type)).toEqual(['dial.requested', 'dial.established']);
  });

  it.each([
    ['fleet?time=yesterday', 'time'],
    ['fleet?at=-1', 'at'],
    ['fleet?at=3x', 'at'],
    ['events?at=soon', 'at'],
  ])('answers %s with 400 naming the parameter, not the live fleet', async (route, parameter) => {
    const res = await get(route);
    expect(res.status).toBe(400);
    expect(res.body.error).toContain(parameter);
  });
});
