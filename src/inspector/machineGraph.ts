/**
 * The state charts the inspector draws, taken from the machine definitions with the same walk that writes
 * docs/state-diagrams/ (src/tools/diagrams.ts), so the page and the docs cannot show different machines.
 * Layout is computed here, not in the page: it is pure, testable, and the page only draws boxes and arrows.
 *
 * Layout: the top-level states are ranked by their distance from the initial state (a column per rank);
 * a compound state is a box with its children stacked inside. Good enough for machines of a dozen states,
 * which is what this project has; a general graph layout would be a dependency the page does not need.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { agentTunnelMachine } from '../machines/agentTunnel.machine';
import { connectionMachine } from '../machines/connection.machine';
import { serverLinkMachine } from '../machines/serverLink.machine';
import { syncLoopMachine } from '../machines/syncLoop.machine';
import { allNodes, childrenOf, transitionLabel, transitionsOf, triggerText } from '../tools/diagrams';

export type MachineName = 'agentTunnel' | 'connection' | 'serverLink' | 'syncLoop';

export const MACHINES: Readonly<Record<MachineName, AnyStateMachine>> = {
  agentTunnel: agentTunnelMachine,
  connection: connectionMachine,
  serverLink: serverLinkMachine,
  syncLoop: syncLoopMachine,
};

export const MACHINE_NAMES = Object.keys(MACHINES) as readonly MachineName[];

export interface GraphState {
  /** Dotted path from the machine root (`open.flowing`); what counts and snapshots are keyed by. */
  readonly id: string;
  readonly name: string;
  readonly parent: string | null;
  readonly kind: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  readonly initial: boolean;
  /** Entry / exit actions, for the box's tooltip. */
  readonly notes: readonly string[];
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface GraphTransition {
  readonly source: string;
  readonly target: string;
  /** The event (or delay) alone, short enough to draw. */
  readonly trigger: string;
  /** `trigger [guard] / actions`, as in the docs. */
  readonly label: string;
}

export interface MachineGraph {
  readonly machine: MachineName;
  readonly width: number;
  readonly height: number;
  readonly states: readonly GraphState[];
  readonly transitions: readonly GraphTransition[];
}

const BOX_WIDTH = 150;
const BOX_HEIGHT = 40;
/** Room between columns for a transition's label (`CLOSE_REQUESTED`, `after overflowGrace`: ~110 px at 10 px). */
const GAP_X = 130;
const GAP_Y = 24;
/** Room for a compound state's own name above its children. */
const HEADER = 26;
const PADDING = 10;

function pathOf(node: AnyStateNode): string {
  return node.path.join('.');
}

/** The top-level state a node is in (the node itself when it is one). */
function topLevel(node: AnyStateNode): AnyStateNode {
  let n = node;
  while (n.parent?.parent !== undefined) n = n.parent;
  return n;
}

/** Distance of each top-level state from the initial one, over transitions lifted to the top level. */
function ranks(machine: AnyStateMachine): Map<AnyStateNode, number> {
  const tops = childrenOf(machine.root);
  const next = new Map<AnyStateNode, Set<AnyStateNode>>(tops.map((t) => [t, new Set()]));
  for (const node of allNodes(machine.root)) {
    if (node === machine.root) continue;
    for (const t of transitionsOf(node)) {
      for (const target of t.target ?? []) {
        if (target === machine.root) continue;
        const from = topLevel(node);
        const to = topLevel(target);
        if (from !== to) next.get(from)?.add(to);
      }
    }
  }
  const rank = new Map<AnyStateNode, number>();
  const initialTargets = machine.root.config.initial !== undefined ? machine.root.initial.target : [];
  const queue = initialTargets.map(topLevel);
  for (const first of queue) rank.set(first, 0);
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const to of next.get(node) ?? []) {
      if (!rank.has(to)) {
        rank.set(to, (rank.get(node) ?? 0) + 1);
        queue.push(to);
      }
    }
  }
  const unreached = Math.max(0, ...rank.values()) + 1;
  for (const t of tops) if (!rank.has(t)) rank.set(t, unreached);
  return rank;
}

function kindOf(node: AnyStateNode): GraphState['kind'] {
  if (node.type === 'final' || node.type === 'history' || node.type === 'parallel') return node.type;
  return childrenOf(node).length > 0 ? 'compound' : 'atomic';
}

function isInitial(node: AnyStateNode): boolean {
  const parent = node.parent;
  if (parent === undefined || parent.config.initial === undefined) return false;
  return parent.initial.target.includes(node);
}

function notesOf(machine: AnyStateMachine, node: AnyStateNode): string[] {
  const names = (v: unknown): string[] =>
    (Array.isArray(v) ? (v as unknown[]) : v === undefined ? [] : [v]).map((a) =>
      typeof a === 'string'
        ? a
        : typeof a === 'object' && a !== null && 'type' in a
          ? String(a.type)
          : 'inline',
    );
  const out: string[] = [];
  const entry = names(node.config.entry);
  if (entry.length > 0) out.push(`entry / ${entry.join(', ')}`);
  const exit = names(node.config.exit);
  if (exit.length > 0) out.push(`exit / ${exit.join(', ')}`);
  for (const t of transitionsOf(node)) {
    if ((t.target ?? []).length === 0) out.push(transitionLabel(machine, t, triggerText(node, t)));
  }
  return out;
}

/** Lays out one machine's states and lists its transitions. Pure. */
export function machineGraph(name: MachineName, machine: AnyStateMachine = MACHINES[name]): MachineGraph {
  const rank = ranks(machine);
  const columns = new Map<number, AnyStateNode[]>();
  for (const top of childrenOf(machine.root)) {
    const r = rank.get(top) ?? 0;
    columns.set(r, [...(columns.get(r) ?? []), top]);
  }
  const states: GraphState[] = [];
  const place = (node: AnyStateNode, x: number, y: number, width: number): number => {
    const children = childrenOf(node);
    const index = states.length;
    states.push({
      id: pathOf(node),
      name: node.key,
      parent: node.parent?.parent === undefined ? null : pathOf(node.parent),
      kind: kindOf(node),
      initial: isInitial(node),
      notes: notesOf(machine, node),
      x,
      y,
      width,
      height: BOX_HEIGHT,
    });
    if (children.length === 0) return BOX_HEIGHT;
    let inner = y + HEADER;
    for (const child of children) inner += place(child, x + PADDING, inner, width - 2 * PADDING) + GAP_Y / 2;
    const height = inner - y - GAP_Y / 2 + PADDING;
    states[index] = { ...states[index]!, height };
    return height;
  };
  const depth = Math.max(1, ...allNodes(machine.root).map((n) => n.path.length));
  const columnWidth = BOX_WIDTH + (depth - 1) * 2 * PADDING;
  let height = 0;
  const sorted = [...columns.keys()].sort((a, b) => a - b);
  sorted.forEach((r, i) => {
    let y = PADDING;
    for (const node of columns.get(r) ?? [])
      y += place(node, PADDING + i * (columnWidth + GAP_X), y, columnWidth) + GAP_Y;
    height = Math.max(height, y);
  });
  const transitions: GraphTransition[] = [];
  for (const node of allNodes(machine.root)) {
    for (const t of transitionsOf(node)) {
      const trigger = triggerText(node, t);
      for (const target of t.target ?? []) {
        if (target === machine.root) continue;
        transitions.push({
          source: node === machine.root ? '' : pathOf(node),
          target: pathOf(target),
          trigger:
            'delay' in t && (typeof t.delay === 'string' || typeof t.delay === 'number')
              ? `after ${t.delay}`
              : trigger,
          label: transitionLabel(machine, t, trigger),
        });
      }
    }
  }
  return {
    machine: name,
    width: PADDING + sorted.length * (columnWidth + GAP_X) - GAP_X + PADDING,
    height,
    states,
    transitions,
  };
}

/** Every machine's graph, built once per process (the definitions never change at run time). */
let cached: readonly MachineGraph[] | null = null;
export function allMachineGraphs(): readonly MachineGraph[] {
  return (cached ??= MACHINE_NAMES.map((name) => machineGraph(name)));
}
