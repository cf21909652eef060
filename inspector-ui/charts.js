// State charts drawn as SVG from the machine graphs the process serves (api/machines): boxes and arrows
// at the positions the server computed, each state with a count of the live actors in it.
'use strict';

import { svg, el, clear } from './dom.js';

const HEADER_Y = 17;
/** A transition label's line height (10 px text). */
const LABEL_LINE = 12;
/**
 * Room left of the states: an edge back up a column (overflowing -> flowing) arcs 38 px left of its
 * states (edgePath), and its label, centred there, is a word of 10 px text.
 */
const LEFT_MARGIN = 48;
/** Room above the states for edges that arc back over the top, and below for the last labels. */
const TOP_MARGIN = 40;
const BOTTOM_MARGIN = 10;

function anchor(box, side) {
  const h = Math.min(box.height, 40);
  switch (side) {
    case 'right':
      return [box.x + box.width, box.y + h / 2];
    case 'left':
      return [box.x, box.y + h / 2];
    case 'top':
      return [box.x + box.width / 2, box.y];
    default:
      return [box.x + box.width / 2, box.y + box.height];
  }
}

function edgePath(from, to) {
  if (to.x >= from.x + from.width) {
    const [x1, y1] = anchor(from, 'right');
    const [x2, y2] = anchor(to, 'left');
    const dx = (x2 - x1) / 2;
    return {
      d: `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`,
      mid: [(x1 + x2) / 2, (y1 + y2) / 2],
    };
  }
  if (to.x + to.width <= from.x) {
    // Backwards: arc over the top.
    const [x1, y1] = anchor(from, 'top');
    const [x2, y2] = anchor(to, 'top');
    const lift = Math.min(y1, y2) - 30;
    return { d: `M${x1},${y1} C${x1},${lift} ${x2},${lift} ${x2},${y2}`, mid: [(x1 + x2) / 2, lift + 8] };
  }
  // Same column: down or up along the left side.
  const down = to.y > from.y;
  const [x1, y1] = down ? anchor(from, 'bottom') : anchor(from, 'top');
  const [x2, y2] = down ? anchor(to, 'top') : anchor(to, 'bottom');
  const off = from.x - 8;
  return {
    d: down
      ? `M${x1},${y1} L${x2},${y2}`
      : `M${from.x},${y1 + 10} C${off - 30},${y1} ${off - 30},${y2} ${to.x},${y2 - 10}`,
    mid: [down ? x1 + 4 : off - 26, (y1 + y2) / 2],
  };
}

/**
 * Draws one machine. Returns `{ element, update(counts, live, current, ended) }`: counts is state path ->
 * live actors, current (optional) the set of state paths to highlight (one actor's current state), ended
 * (optional) final state -> actors that ended in it while the page was open, shown on the final states
 * (no live actor is ever in one).
 */
export function drawChart(graph, options = {}) {
  const byId = new Map(graph.states.map((s) => [s.id, s]));
  const markerId = `arrow-${graph.machine}-${options.suffix ?? 'main'}`;
  const root = svg('svg', {
    class: 'chart',
    'data-machine': graph.machine,
    viewBox: `${-LEFT_MARGIN} ${-TOP_MARGIN} ${graph.width + LEFT_MARGIN} ${graph.height + TOP_MARGIN + BOTTOM_MARGIN}`,
    width: graph.width + LEFT_MARGIN,
    height: graph.height + TOP_MARGIN + BOTTOM_MARGIN,
    role: 'img',
    'aria-label': `${graph.machine} state chart`,
  });
  root.append(
    svg(
      'defs',
      {},
      svg(
        'marker',
        {
          id: markerId,
          viewBox: '0 0 10 10',
          refX: 10,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: 'auto',
        },
        svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }),
      ),
    ),
  );
  const countNodes = new Map();
  const boxes = new Map();
  for (const state of graph.states) {
    const group = svg('g', { class: `state ${state.kind}`, 'data-state': state.id });
    const rect = svg('rect', {
      x: state.x,
      y: state.y,
      width: state.width,
      height: state.height,
      rx: 8,
      ry: 8,
    });
    const endedNote = state.kind === 'final' ? ['count: actors that ended here while the page was open'] : [];
    const title = svg('title', {}, [state.id, ...state.notes, ...endedNote].join('\n'));
    const compound = state.kind === 'compound' || state.kind === 'parallel';
    const name = svg(
      'text',
      { x: state.x + 8, y: state.y + (compound ? HEADER_Y : state.height / 2 + 5), class: 'name' },
      `${state.initial ? '\u25b8 ' : ''}${state.name}`,
    );
    const count = svg(
      'text',
      {
        x: state.x + state.width - 8,
        y: state.y + (compound ? HEADER_Y : state.height / 2 + 5),
        class: 'count',
      },
      '0',
    );
    if (state.kind === 'final') count.classList.add('ended');
    group.append(title, rect, name, count);
    root.append(group);
    countNodes.set(state.id, count);
    boxes.set(state.id, group);
  }
  const rootTransitions = [];
  // Edges between the same two states (an event and a timeout, say) share a midpoint: their labels are
  // stacked one under the other instead of drawn over each other.
  const labelsAt = new Map();
  for (const t of graph.transitions) {
    const from = byId.get(t.source);
    const to = byId.get(t.target);
    if (!to) continue;
    if (!from) {
      rootTransitions.push(`${t.trigger} \u2192 ${t.target} (from any state)`);
      continue;
    }
    if (from === to) continue;
    const { d, mid } = edgePath(from, to);
    const at = `${Math.round(mid[0])},${Math.round(mid[1])}`;
    const stacked = labelsAt.get(at) ?? 0;
    labelsAt.set(at, stacked + 1);
    root.append(
      svg(
        'g',
        { class: 'edge' },
        svg('title', {}, `${t.source} \u2192 ${t.target}: ${t.label}`),
        svg('path', { d, 'marker-end': `url(#${markerId})` }),
        svg('text', { x: mid[0], y: mid[1] - 3 + stacked * LABEL_LINE, class: 'trigger' }, t.trigger),
      ),
    );
  }
  const figure = el(
    'figure',
    { class: 'chart-figure', 'data-machine': graph.machine },
    el('figcaption', {}, el('strong', {}, graph.machine), ' ', el('span', { class: 'live-total' }, '')),
    root,
    rootTransitions.length > 0 ? el('p', { class: 'note' }, rootTransitions.join('; ')) : null,
  );
  const total = figure.querySelector('.live-total');
  return {
    element: figure,
    update(counts, live, current, ended) {
      for (const [id, node] of countNodes) {
        if (ended && byId.get(id).kind === 'final') {
          node.textContent = String(ended[id] ?? 0);
          continue;
        }
        const n = counts?.[id] ?? 0;
        node.textContent = String(n);
        boxes.get(id).classList.toggle('occupied', n > 0);
      }
      if (current) for (const [id, group] of boxes) group.classList.toggle('current', current.has(id));
      if (live !== undefined) total.textContent = `${live} live`;
    },
  };
}

/** All charts into `container`; returns machine -> chart. */
export function drawAllCharts(container, graphs) {
  clear(container);
  const charts = new Map();
  for (const graph of graphs) {
    const chart = drawChart(graph);
    container.append(chart.element);
    charts.set(graph.machine, chart);
  }
  return charts;
}
