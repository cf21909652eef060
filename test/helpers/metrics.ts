/**
 * Prometheus text exposition (format 0.0.4) parsed into samples, so tests can assert on what a process
 * exports at `/metrics`, as the reference's test framework does.
 */
import { httpGet } from './http';

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  /** Full sample name, including `_bucket`, `_sum`, `_count` suffixes for histograms. */
  readonly name: string;
  readonly labels: Labels;
  readonly value: number;
}

export class MetricsParseError extends Error {
  override readonly name = 'MetricsParseError';
}

function matches(sample: Sample, name: string, labels: Labels | undefined): boolean {
  if (sample.name !== name) return false;
  if (!labels) return true;
  return Object.entries(labels).every(([k, v]) => sample.labels[k] === v);
}

function render(name: string, labels: Labels | undefined): string {
  if (!labels || Object.keys(labels).length === 0) return name;
  return `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',')}}`;
}

export class Metrics {
  constructor(
    readonly samples: readonly Sample[],
    /** `# TYPE` declarations by metric family name. */
    readonly types: Readonly<Record<string, string>>,
  ) {}

  /** Every sample of `name` whose labels include `labels`. */
  all(name: string, labels?: Labels): Sample[] {
    return this.samples.filter((s) => matches(s, name, labels));
  }

  /**
   * The value of the one sample of `name` whose labels include `labels`; undefined when there is none.
   * Throws when several match: the caller must say which series it means (or use `sum`).
   */
  value(name: string, labels?: Labels): number | undefined {
    const found = this.all(name, labels);
    if (found.length > 1) {
      throw new Error(
        `${render(name, labels)} is ambiguous: ${found.map((s) => render(s.name, s.labels)).join(', ')}`,
      );
    }
    return found[0]?.value;
  }

  /** Sum over every matching series; 0 when there is none (a counter nobody incremented yet). */
  sum(name: string, labels?: Labels): number {
    return this.all(name, labels).reduce((total, s) => total + s.value, 0);
  }

  has(name: string): boolean {
    return this.samples.some((s) => s.name === name) || name in this.types;
  }
}

function parseValue(text: string, line: string): number {
  switch (text) {
    case '+Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
    case 'Nan': // prom-client writes NaN this way (e.g. an event-loop lag not sampled yet)
      return NaN;
    default: {
      const value = Number(text);
      if (text === '' || Number.isNaN(value))
        throw new MetricsParseError(`bad sample value in ${JSON.stringify(line)}`);
      return value;
    }
  }
}

/** Parses `{a="x",b="y\"z"}` starting at `start` (the `{`); returns the labels and the index after `}`. */
function parseLabels(line: string, start: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = start + 1;
  const fail = (): never => {
    throw new MetricsParseError(`bad labels in ${JSON.stringify(line)}`);
  };
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return [labels, i + 1];
    const eq = line.indexOf('=', i);
    if (eq < 0 || line[eq + 1] !== '"') fail();
    const key = line.slice(i, eq).trim();
    let value = '';
    i = eq + 2;
    for (; i < line.length && line[i] !== '"'; i++) {
      if (line[i] === '\\') {
        i++;
        value += line[i] === 'n' ? '\n' : (line[i] ?? '');
      } else {
        value += line[i];
      }
    }
    if (i >= line.length) fail();
    labels[key] = value;
    i++;
  }
}

export function parsePrometheusText(text: string): Metrics {
  const samples: Sample[] = [];
  const types: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const type = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line);
      if (type) types[type[1]!] = type[2]!;
      continue;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) throw new MetricsParseError(`bad sample line ${JSON.stringify(line)}`);
    const name = nameMatch[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      const [parsed, end] = parseLabels(line, name.length);
      labels = parsed;
      rest = line.slice(end);
    }
    // The value, optionally followed by a timestamp we have no use for.
    const value = parseValue(rest.trim().split(/\s+/)[0] ?? '', line);
    samples.push({ name, labels, value });
  }
  return new Metrics(samples, types);
}

/** GETs a `/metrics` URL and parses it; throws on a non-200 answer. */
export async function scrapeMetrics(url: string, timeoutMs = 2_000): Promise<Metrics> {
  const res = await httpGet(url, timeoutMs);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${res.body.slice(0, 200)}`);
  return parsePrometheusText(res.body);
}
