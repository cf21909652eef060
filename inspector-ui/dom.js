// DOM helpers. Everything that came from the network (agent ids, addresses, error texts) becomes a text
// node: nothing here ever parses a string as HTML, so `<img src=x onerror=...>` shows up as those characters.
'use strict';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** `el('td', { class: 'c-kind' }, 'dial')`: attributes set one by one; strings become text nodes. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (/^on/i.test(name) || name === 'style') throw new Error(`refusing attribute ${name}`);
    node.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

export function text(value) {
  return value === null || value === undefined ? '' : String(value);
}

export function formatAge(ms) {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${Math.floor(s % 60)}s`;
  return `${Math.floor(m / 60)}h${m % 60}m`;
}

export function formatBytes(n) {
  if (n === null || n === undefined) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatTime(ms) {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}
