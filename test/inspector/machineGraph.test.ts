/** The inspector's charts come from the same machine definitions and walk as docs/state-diagrams. */
import { readFileSync } from 'fs';
import * as path from 'path';
import { allMachineGraphs, MACHINE_NAMES } from '../../src/inspector/machineGraph';

const DIAGRAMS = path.join(__dirname, '../../docs/state-diagrams');

describe('machine graphs', () => {
  it.each(MACHINE_NAMES)('%s has every state and every transition its Mermaid diagram has', (name) => {
    const graph = allMachineGraphs().find((g) => g.machine === name)!;
    const mermaid = readFileSync(path.join(DIAGRAMS, `${name}.mmd`), 'utf8');
    const declared = [...mermaid.matchAll(/state "([^"]+)" as s_(\S+)/g)].map((m) =>
      m[2]!.replace(/__/g, '.'),
    );
    expect(graph.states.map((s) => s.id).sort()).toEqual(declared.sort());
    const edges = [...mermaid.matchAll(/^\s*(s_\S+|m_\S+) --> (s_\S+)/gm)].length;
    expect(graph.transitions).toHaveLength(edges);
  });

  it.each(MACHINE_NAMES)('%s lays out siblings without overlap, children inside their parent', (name) => {
    const graph = allMachineGraphs().find((g) => g.machine === name)!;
    const byId = new Map(graph.states.map((s) => [s.id, s]));
    for (const a of graph.states) {
      expect(a.x + a.width).toBeLessThanOrEqual(graph.width);
      expect(a.y + a.height).toBeLessThanOrEqual(graph.height);
      if (a.parent !== null) {
        const p = byId.get(a.parent)!;
        expect(a.x).toBeGreaterThan(p.x);
        expect(a.y + a.height).toBeLessThanOrEqual(p.y + p.height);
      }
      for (const b of graph.states) {
        if (a === b || a.parent !== b.parent) continue;
        const apart =
          a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
        expect(apart).toBe(true);
      }
    }
  });
});
