/**
 * The second part of `bench:inspector-cpu`: the inspector's per-tick passes alone, with PASS_LIVE live
 * connections and a viewer: a frame's summary, the page's table request and one actor's detail (median of
 * PASS_REPEATS), in milliseconds of CPU per pass.
 */
import { median } from './common';
import { cpuUs, noopPort, type InspectorModules } from './inspectorCpuModules';

const PASS_LIVE = [1000, 10_000];
const PASS_REPEATS = 15;

export function passes(m: InspectorModules, tableQuery: string): void {
  const { machines } = m;
  const query = m.parseActorQuery(new URLSearchParams(tableQuery));
  const lines: string[] = [];
  for (const live of PASS_LIVE) {
    const host = new m.ActorHost({ actorStarted: () => undefined, actorStopped: () => undefined });
    const inspector = new m.LiveInspector(host, { kind: 'server', id: 'bench' }, new m.EventFeed());
    const tunnel = host.start('agentTunnel', machines.agentTunnel.machine, {
      input: { agentId: 'node-1', streamId: 'node-1#1' },
      describer: { actorFacts: () => ({ agent: 'node-1' }) },
    });
    let last = '';
    for (let i = 0; i < live; i++) {
      const connection = host.start('connection', machines.connection.machine, {
        bind: (a) => machines.connection.bind(a, noopPort()),
        input: { timeoutMs: 0 },
        describer: {
          actorFacts: () => ({
            agent: 'node-1',
            destination: `10.0.${i % 250}.1:10250`,
            owner: tunnel.sessionId,
          }),
        },
      });
      connection.send({ type: 'DIAL_SUCCEEDED', connectID: String(i) });
      last = connection.sessionId;
    }
    inspector.addViewer();
    const time = (f: () => unknown): string => {
      const xs: number[] = [];
      for (let r = 0; r < PASS_REPEATS; r++) {
        const before = cpuUs();
        f();
        xs.push((cpuUs() - before) / 1000);
      }
      return median(xs).toFixed(2);
    };
    lines.push(
      `  ${String(live).padStart(6)} live: summary ${time(() => inspector.summary())} ms, ` +
        `table page ${time(() => inspector.actors(query))} ms, ` +
        `one connection's detail ${time(() => inspector.actor(last))} ms, ` +
        `its tunnel's ${time(() => inspector.actor(tunnel.sessionId))} ms`,
    );
    host.stopAll();
  }
  console.log(`CPU per pass with a viewer (median of ${PASS_REPEATS}):`);
  for (const line of lines) console.log(line);
}
