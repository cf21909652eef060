/**
 * `npm run bench:inspector-cpu`: the inspector's CPU per dial + connection lifecycle, in-process and
 * without sockets, so that it resolves a few microseconds on a machine shared with other work (the
 * process benchmark, `npm run bench:inspector`, cannot under load).
 *
 * One lifecycle is what a server does per proxied connection: a `connection` actor whose dial (timed, as
 * the server's are) succeeds, then closed by the near side and confirmed by the far side, with its port
 * bound and a `describe` function, on the process's real ActorHost and LiveInspector, and
 * the four lifecycle events a server makes per connection through the inspector's feed as with
 * `--event-log=off` (made only while someone looks). While they run, LIVE_BACKGROUND connections stay
 * open, so the per-tick passes have something to walk.
 *
 * Variants, interleaved batch by batch in rotated order (CPU time of the batch, median over batches):
 * - `off`: no inspector at all (`--inspector=false`);
 * - `idle`: the inspector on, no one looking;
 * - `viewed`: a viewer connected with one actor's detail open, and the per-tick work the page causes
 *   paced as at DIALS_PER_SECOND (a frame's summary every FRAME_INTERVAL_MS, the table page and the
 *   detail every second), so the figure is the whole cost of a page open at that churn, per lifecycle.
 *
 * Then the per-tick passes alone (inspectorCpuPasses.ts).
 *
 * `--quick` for fewer batches. Needs `npm run build`: it loads dist/, or BENCH_DIST, another build to
 * measure (an older commit's, for a before/after on the same machine), typed as this checkout's modules.
 */
import * as path from 'path';
import { median } from './common';
import { cpuUs, loadInspectorModules, noopPort, type InspectorModules } from './inspectorCpuModules';
import { passes } from './inspectorCpuPasses';

const QUICK = process.argv.includes('--quick');
/** Many small batches: on a shared machine the load drifts, and adjacent batches see about the same. */
const BATCHES = QUICK ? 12 : 36;
const PER_BATCH = 1000;
/** The churn the process benchmark drives and the target is stated at. */
const DIALS_PER_SECOND = 1000;
const FRAME_INTERVAL_MS = 500;
const LIVE_BACKGROUND = 500;
/** A dial's timeout, as the server's (it never fires: each dial succeeds at once). */
const DIAL_TIMEOUT_MS = 30_000;
/** The page's table request (inspector-ui/table.js with the default sort). */
const TABLE_QUERY = 'ended=true&sort=age&dir=desc&limit=100';

const VARIANTS = ['off', 'idle', 'viewed'] as const;
type VariantName = (typeof VARIANTS)[number];

interface Variant {
  name: VariantName;
  lifecycle: () => void;
  stop: () => void;
}

function makeVariant(m: InspectorModules, name: VariantName): Variant {
  const { machines } = m;
  const host = new m.ActorHost({ actorStarted: () => undefined, actorStopped: () => undefined });
  const inspector =
    name === 'off' ? null : new m.LiveInspector(host, { kind: 'server', id: 'bench' }, new m.EventFeed());
  // As runServer wires it with --event-log=off: the actors call a discarding factory without the
  // inspector (proxyServer.ts), the feed's otherwise.
  const factory = m.eventFactory({ serverId: 'bench' });
  const events =
    inspector === null
      ? m.discarding(factory)
      : m.feeding(inspector.feed, () => inspector.wanted, null, factory);
  const tableQuery = m.parseActorQuery(new URLSearchParams(TABLE_QUERY));
  let tunnelId = 'x:0';
  const describe = (destination: string) => ({
    actorFacts: () => ({
      agent: 'node-1',
      destination,
      owner: tunnelId,
      bytesOut: 0,
      bytesIn: 0,
    }),
  });
  const tunnel = host.start('agentTunnel', machines.agentTunnel.machine, {
    input: { agentId: 'node-1', streamId: 'node-1#1' },
    describer: { actorFacts: () => ({ agent: 'node-1' }) },
  });
  tunnelId = tunnel.sessionId;
  for (let i = 0; i < LIVE_BACKGROUND; i++) {
    host
      .start('connection', machines.connection.machine, {
        bind: (a) => machines.connection.bind(a, noopPort()),
        input: { timeoutMs: 0 },
        describer: describe(`10.0.${i % 250}.1:10250`),
      })
      .send({ type: 'DIAL_SUCCEEDED', connectID: String(i) });
  }
  let selected: string | null = null;
  if (inspector && name === 'viewed') {
    inspector.addViewer();
    // One connection's detail open on the page.
    selected = [...host.liveActors()].find((e) => e.kind === 'connection')?.actor.sessionId ?? null;
    if (selected === null) throw new Error('no live connection to open on the page');
    inspector.actor(selected);
  }
  let n = 0;
  const lifecycle = (): void => {
    const destination = `10.1.${n % 250}.1:10250`;
    const conn = host.start('connection', machines.connection.machine, {
      bind: (a) => machines.connection.bind(a, noopPort()),
      input: { timeoutMs: DIAL_TIMEOUT_MS },
      describer: describe(destination),
    });
    conn.send({ type: 'DIAL_SUCCEEDED', connectID: String(n) });
    conn.send({ type: 'CLOSE_REQUESTED', reason: 'done' });
    conn.send({ type: 'FAR_END_CLOSED', reason: 'done' });
    const key = { random: BigInt(n), destination, agentId: 'node-1' };
    const connectID = BigInt(n);
    events.dialRequested({
      random: key.random,
      destination,
      mode: 'http-connect',
      protocol: 'tcp',
      frontend: 'f',
    });
    events.dialEstablished({ ...key, connectID, latencyMs: 1 });
    events.connOpened({ ...key, connectID, mode: 'http-connect' });
    events.connClosed({
      ...key,
      connectID,
      bytesToAgent: 4,
      bytesFromAgent: 4,
      durationMs: 1,
      closedBy: 'frontend',
      reason: 'done',
    });
    n++;
    if (inspector && selected !== null) {
      // The page's per-second work, paced by the lifecycles as if they came at DIALS_PER_SECOND.
      const perFrame = (DIALS_PER_SECOND * FRAME_INTERVAL_MS) / 1000;
      if (n % perFrame === 0) inspector.summary();
      if (n % DIALS_PER_SECOND === 0) {
        inspector.actors(tableQuery);
        inspector.actor(selected);
      }
    }
  };
  return { name, lifecycle, stop: () => host.stopAll() };
}

async function main(): Promise<void> {
  /** BENCH_DIST: another build to measure; this checkout's dist/ (from bench-build/bench/) by default. */
  const dist = path.resolve(process.env['BENCH_DIST'] ?? path.join(__dirname, '../../dist'));
  const m = await loadInspectorModules(dist);
  const variants = VARIANTS.map((name) => makeVariant(m, name));
  for (const v of variants) for (let i = 0; i < PER_BATCH; i++) v.lifecycle(); // warm-up
  const samples: Record<VariantName, number[]> = { off: [], idle: [], viewed: [] };
  for (let b = 0; b < BATCHES; b++) {
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(b + i) % variants.length]!;
      const before = cpuUs();
      for (let k = 0; k < PER_BATCH; k++) v.lifecycle();
      samples[v.name].push((cpuUs() - before) / PER_BATCH);
    }
  }
  console.log(`CPU per dial + connection lifecycle, median of ${BATCHES} batches of ${PER_BATCH}:`);
  for (const v of variants) {
    const xs = samples[v.name];
    const us = median(xs);
    // Paired with the `off` batch of the same round, then the median: steadier than a difference of medians.
    const d = median(xs.map((x, b) => x - samples.off[b]!));
    const pct = (100 * median(xs.map((x, b) => x / samples.off[b]! - 1))).toFixed(1);
    const vs = v.name === 'off' ? '' : ` (paired vs off: ${d >= 0 ? '+' : ''}${d.toFixed(1)} us, ${pct} %)`;
    console.log(`  ${v.name.padEnd(6)} ${us.toFixed(1)} us${vs}`);
  }
  for (const v of variants) v.stop();
  passes(m, TABLE_QUERY);
}

main().catch((err: unknown) => {
  console.error(`bench:inspector-cpu: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
