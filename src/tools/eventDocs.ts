/**
 * The generated parts of docs/events.md: an example of every event type, made by the real event
 * factories (the code every producer goes through), the reason vocabulary of every event type, and
 * `konnectivity-events` output rendered by the real CLI formatter from the same events. The clock and
 * the ids are fixed so the output is the same on every run; `npm run docs:events` writes it between
 * the markers, and test/events/docs.test.ts fails when the committed doc differs.
 */
import { AuditReport } from '../cli/audit';
import { auditTable, eventLine } from '../cli/format';
import { eventFactory, monotonicUlid, REASONS, REASONED_TYPES, type LifecycleEvent } from '../events';

export const EVENTS_DOC = 'docs/events.md';

/** How grpc-js names a frontend on the Kamaji socket (an HTTP CONNECT frontend there is just `unix`). */
const UDS_PEER = 'unix:/run/konnectivity/konnectivity-server.socket';

/** 2025-03-01T12:00:00Z: a fixed instant, so generated ids and times never change. */
const T0 = Date.parse('2025-03-01T12:00:00.000Z');

interface Examples {
  readonly server: LifecycleEvent[];
  readonly agent: LifecycleEvent[];
  /** A short story (a connection carried, a dial refused) for the CLI examples. */
  readonly story: LifecycleEvent[];
}

function fixedClock(): { now: () => number; at: (ms: number) => void } {
  let t = T0;
  return { now: () => t, at: (ms) => (t = T0 + ms) };
}

/** Fixed ULID randomness, one per process: the ids look real, stay stable and never collide. */
const fixedIds = (clock: { now: () => number }, fill: number) =>
  monotonicUlid({ now: clock.now, random: (n) => new Uint8Array(n).fill(fill) });

export function exampleEvents(): Examples {
  const clock = fixedClock();
  const s = eventFactory({ serverId: 'srv-1', clock, ids: fixedIds(clock, 0x2a) });
  const a = eventFactory({ agentId: 'node-1', clock, ids: fixedIds(clock, 0x5b) });
  const big = { random: '9223372036854775807', destination: '10.0.0.5:10250' };
  const refused = { random: '77', destination: '10.0.0.9:22' };
  const conn = { ...big, agentId: 'node-1', connectID: 1n };

  const started = s.serverStarted({ mode: 'grpc', serverCount: 3 });
  const connected = s.agentConnected({
    agentId: 'node-1',
    streamId: 'node-1#1',
    identifiers: 'host=node-1&ipv4=10.0.0.5',
    remoteAddress: '10.0.0.5:51234',
  });
  clock.at(1200);
  const requested = s.dialRequested({ ...big, mode: 'grpc', protocol: 'tcp', frontend: UDS_PEER });
  clock.at(1203);
  const established = s.dialEstablished({ ...conn, latencyMs: 3 });
  const opened = s.connOpened({ ...conn, mode: 'grpc' });
  clock.at(62_703);
  const closed = s.connClosed({
    ...conn,
    bytesToAgent: 5230,
    bytesFromAgent: 1843200,
    durationMs: 61_500,
    closedBy: 'frontend',
    reason: 'close-req',
  });
  const requested2 = s.dialRequested({ ...refused, mode: 'grpc', protocol: 'tcp', frontend: UDS_PEER });
  clock.at(62_705);
  const failed = s.dialFailed({
    ...refused,
    agentId: 'node-1',
    reason: 'agent-error',
    error: 'dial tcp 10.0.0.9:22: connect: connection refused',
    latencyMs: 2,
  });
  clock.at(63_000);
  const cancelled = s.dialCancelled({
    random: '78',
    destination: '10.0.0.5:10250',
    agentId: 'node-1',
    reason: 'dial-cls',
    latencyMs: 9,
  });
  clock.at(68_000);
  const timedOut = s.dialTimedOut({
    random: '79',
    destination: '198.18.0.254:1234',
    agentId: 'node-1',
    timeoutMs: 5000,
  });
  const draining = s.agentDraining({ agentId: 'node-1', streamId: 'node-1#1' });
  clock.at(70_000);
  const disconnected = s.agentDisconnected({
    agentId: 'node-1',
    streamId: 'node-1#1',
    reason: 'stream-ended',
  });
  const stopped = s.serverStopped({ reason: 'shutdown' });

  clock.at(0);
  const agentStarted = a.agentStarted({ identifiers: 'host=node-1&ipv4=10.0.0.5' });
  const serverConnected = a.serverConnected({ serverId: 'srv-1', serverCount: 3, address: 'lb:8132' });
  clock.at(1202);
  const endpointConnected = a.endpointDialConnected({
    ...big,
    serverId: 'srv-1',
    connectID: 1n,
    latencyMs: 1,
  });
  clock.at(62_702);
  const endpointClosed = a.endpointConnClosed({
    ...big,
    serverId: 'srv-1',
    connectID: 1n,
    bytesToEndpoint: 5230,
    bytesFromEndpoint: 1843200,
    durationMs: 61_500,
    closedBy: 'server',
    reason: 'close-req',
  });
  clock.at(62_704);
  const endpointFailed = a.endpointDialFailed({
    ...refused,
    serverId: 'srv-1',
    reason: 'error',
    error: 'dial tcp 10.0.0.9:22: connect: connection refused',
    latencyMs: 1,
  });
  clock.at(70_000);
  const serverDisconnected = a.serverDisconnected({
    serverId: 'srv-1',
    reason: 'stream-error',
    error: 'read ECONNRESET',
  });
  const agentStopped = a.agentStopped({ reason: 'shutdown' });

  return {
    server: [
      started,
      stopped,
      connected,
      disconnected,
      draining,
      requested,
      established,
      failed,
      cancelled,
      timedOut,
      opened,
      closed,
    ],
    agent: [
      agentStarted,
      agentStopped,
      serverConnected,
      serverDisconnected,
      endpointConnected,
      endpointFailed,
      endpointClosed,
    ],
    story: [connected, requested, established, opened, closed, requested2, failed],
  };
}

const jsonLines = (events: readonly LifecycleEvent[]): string =>
  ['```json', ...events.map((e) => JSON.stringify(e)), '```'].join('\n');

function reasonTable(): string {
  const rows = REASONED_TYPES.flatMap((type) =>
    Object.entries(REASONS[type] as Readonly<Record<string, string>>).map(
      ([reason, meaning]) => [`\`${type}\``, `\`${reason}\``, meaning] as const,
    ),
  );
  const widths = [0, 1, 2].map((i) =>
    Math.max(...[['type', 'reason', 'meaning'], ...rows].map((r) => r[i]!.length)),
  );
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(['type', 'reason', 'meaning']),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n');
}

function cliExamples(story: readonly LifecycleEvent[]): { tail: string; audit: string } {
  const report = new AuditReport('server');
  for (const e of story) report.add(e);
  return {
    tail: [
      '```',
      '$ konnectivity-events tail --data-dir /var/lib/konnectivity',
      ...story.map((e) => eventLine(e).trimEnd()),
      '```',
    ].join('\n'),
    audit: [
      '```',
      '$ konnectivity-events audit --data-dir /var/lib/konnectivity --since 24h',
      auditTable(report.result()).trimEnd(),
      '```',
    ].join('\n'),
  };
}

/** Every generated block of docs/events.md, by marker name. */
export function renderEventDocBlocks(): Readonly<Record<string, string>> {
  const examples = exampleEvents();
  const cli = cliExamples(examples.story);
  return {
    'server-examples': jsonLines(examples.server),
    'agent-examples': jsonLines(examples.agent),
    reasons: reasonTable(),
    'cli-tail': cli.tail,
    'cli-audit': cli.audit,
  };
}

export class EventDocError extends Error {
  override readonly name = 'EventDocError';
  constructor(
    readonly reason: 'missing-marker',
    message: string,
  ) {
    super(message);
  }
}

const begin = (name: string): string => `<!-- BEGIN GENERATED ${name}: npm run docs:events -->`;
const end = (name: string): string => `<!-- END GENERATED ${name} -->`;

/** `doc` with every block replaced between its markers; a missing marker is an error, not a skip. */
export function applyEventDocBlocks(doc: string, blocks: Readonly<Record<string, string>>): string {
  let out = doc;
  for (const [name, body] of Object.entries(blocks)) {
    const from = out.indexOf(begin(name));
    const to = out.indexOf(end(name));
    if (from === -1 || to === -1 || to < from) {
      throw new EventDocError(
        'missing-marker',
        `${EVENTS_DOC} has no "${begin(name)}" ... "${end(name)}" block`,
      );
    }
    // Blank lines around the body: Markdown (and Prettier) want them between a comment and a block.
    out = `${out.slice(0, from)}${begin(name)}\n\n${body}\n\n${out.slice(to)}`;
  }
  return out;
}
