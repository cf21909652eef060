/**
 * What `bench:inspector-cpu` (inspectorCpu.ts) loads from the build it measures: the real ActorHost, the
 * provided machines, the LiveInspector with its event feed, and the event factory, typed as this
 * checkout's modules (another build measured through BENCH_DIST must keep these entry points).
 */
import * as path from 'path';

type ActorHostModule = typeof import('../src/actors/actorHost');
type MachinesModule = typeof import('../src/actors/machines');
type LiveInspectorModule = typeof import('../src/inspector/liveInspector');
type EventFeedModule = typeof import('../src/inspector/eventFeed');
type EventsModule = typeof import('../src/events');
type ActorQueryModule = typeof import('../src/inspector/actorQuery');
type RecorderModule = typeof import('../src/actors/recorder');

export interface InspectorModules {
  ActorHost: ActorHostModule['ActorHost'];
  machines: MachinesModule;
  LiveInspector: LiveInspectorModule['LiveInspector'];
  EventFeed: EventFeedModule['EventFeed'];
  feeding: EventFeedModule['feeding'];
  eventFactory: EventsModule['eventFactory'];
  /** What the actors call for events when nothing records them. */
  discarding: RecorderModule['discarding'];
  parseActorQuery: ActorQueryModule['parseActorQuery'];
}

async function load<T>(dist: string, file: string): Promise<T> {
  try {
    return (await import(path.join(dist, file))) as T;
  } catch (err) {
    throw new Error(`cannot load ${file} of ${dist} (run \`npm run build\` first): ${String(err)}`, {
      cause: err,
    });
  }
}

export async function loadInspectorModules(dist: string): Promise<InspectorModules> {
  const { ActorHost } = await load<ActorHostModule>(dist, 'actors/actorHost.js');
  const machines = await load<MachinesModule>(dist, 'actors/machines.js');
  const { LiveInspector } = await load<LiveInspectorModule>(dist, 'inspector/liveInspector.js');
  const { EventFeed, feeding } = await load<EventFeedModule>(dist, 'inspector/eventFeed.js');
  const { eventFactory } = await load<EventsModule>(dist, 'events/index.js');
  const { parseActorQuery } = await load<ActorQueryModule>(dist, 'inspector/actorQuery.js');
  const { discarding } = await load<RecorderModule>(dist, 'actors/recorder.js');
  return {
    ActorHost,
    machines,
    LiveInspector,
    EventFeed,
    feeding,
    eventFactory,
    discarding,
    parseActorQuery,
  };
}

const noop = (): undefined => undefined;
/** Every effect a port may be asked for does nothing: the lifecycle has no sockets to act on. */
const NOOP_PORT: object = new Proxy({}, { get: () => noop });

/** The one do-nothing port, as whatever port type a machine binds (one object, no allocation per actor). */
export const noopPort = <T>(): T => NOOP_PORT as T;

/** CPU time (user + system) of this process so far, in µs. */
export function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}
