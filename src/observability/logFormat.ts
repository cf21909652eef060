/**
 * Value rendering for klog's structured text format (k8s.io/klog/v2 internal/serialize), so that the log
 * parsers people already run against the Go binaries read our lines the same way.
 */
import { boundPeerText } from '../protocol/peerText';

export type Fields = Readonly<Record<string, unknown>>;

/** Enough to show a realistic wrap chain; stops runaway or cyclic `cause` links. */
const MAX_CAUSE_DEPTH = 8;

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '"': '\\"',
  '\\': '\\\\',
};

/** Unicode categories Go's unicode.IsPrint rejects (other, separators); ASCII space is printable. */
const NON_PRINTABLE = /^[\p{C}\p{Z}]$/u;

/** Go's strconv.Quote: printable Unicode is kept, everything else escaped. */
export function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const simple = SIMPLE_ESCAPES[ch];
    if (simple !== undefined) {
      out += simple;
      continue;
    }
    const cp = ch.codePointAt(0)!;
    if (ch === ' ' || !NON_PRINTABLE.test(ch)) {
      out += ch;
    } else if (cp < 0x20 || cp === 0x7f) {
      out += `\\x${cp.toString(16).padStart(2, '0')}`;
    } else if (cp >= 0xd800 && cp <= 0xdfff) {
      out += '\\ufffd'; // a lone surrogate is invalid UTF-8, which Go prints as the replacement rune
    } else if (cp < 0x10000) {
      out += `\\u${cp.toString(16).padStart(4, '0')}`;
    } else {
      out += `\\U${cp.toString(16).padStart(8, '0')}`;
    }
  }
  return `${out}"`;
}

/**
 * klog's writeStringValue: one-line strings are quoted; multi-line strings are shown as-is between `<` and
 * ` >`, each line tab-indented, so stack traces and YAML stay readable.
 */
function stringValue(text: string): string {
  // Values often carry what a peer sent (ids, addresses, errors): no line may carry more than a prefix.
  const v = boundPeerText(text);
  if (!v.includes('\n')) return `=${quote(v)}`;
  const lines = v.split('\n');
  const endsWithBreak = lines[lines.length - 1] === '';
  if (endsWithBreak) lines.pop();
  return `=<\n${lines.map((l) => `\t${l}\n`).join('')} >`;
}

function numberValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  return String(n);
}

function hasOwnToString(v: object): v is { toString(): string } {
  return !Array.isArray(v) && typeof v.toString === 'function' && v.toString !== Object.prototype.toString;
}

/** The `=value` part for one field. */
export function formatValue(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return stringValue(v);
    case 'number':
      return `=${numberValue(v)}`;
    case 'bigint':
    case 'boolean':
      return `=${String(v)}`;
    case 'undefined':
      return '=<nil>';
    case 'symbol':
    case 'function':
      return `=${quote(String(v))}`;
    case 'object':
      if (v === null) return '=<nil>';
      if (v instanceof Error) return stringValue(formatError(v));
      if (v instanceof Date) return `=${quote(Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString())}`;
      if (v instanceof Uint8Array) return `=${quote(Buffer.from(v).toString('utf8'))}`;
      // Like fmt.Stringer in Go: an object that knows how to print itself does so, quoted.
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- guarded: toString is not Object's
      if (hasOwnToString(v)) return stringValue(v.toString());
      return `=${toJson(v)}`;
  }
}

/** Go's `%+v` of a struct is unquoted; JSON is the closest readable form for plain objects. */
function toJson(v: object): string {
  try {
    return boundPeerText(
      JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? '<nil>',
    );
  } catch {
    return quote(Object.prototype.toString.call(v)); // cyclic: say what it is rather than fail the log call
  }
}

export function formatFields(fields: Fields): string {
  let out = '';
  for (const key of Object.keys(fields)) out += ` ${key}${formatValue(fields[key])}`;
  return out;
}

/**
 * An error as Go would print a `%w` wrap chain: `outer: inner: root`. A link whose message already ends with
 * its cause's message (the Go habit of embedding it) is not repeated.
 */
export function formatError(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current !== undefined && current !== null && parts.length < MAX_CAUSE_DEPTH && !seen.has(current)) {
    seen.add(current);
    const message = current instanceof Error ? current.message || current.name : describe(current);
    const previous = parts[parts.length - 1];
    if (previous === undefined || !previous.endsWith(message)) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ');
}

function describe(v: unknown): string {
  if (typeof v === 'object' && v !== null && !hasOwnToString(v)) return toJson(v);
  return String(v);
}
