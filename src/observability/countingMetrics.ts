/**
 * Counters and gauges that are cheap to update on every dial and every packet. prom-client hashes and
 * validates the label set on each `inc`/`set` (about 1 µs, measured; a child from `labels()` does the same
 * work, it only binds the labels), which adds up at several updates per dial in each process. Here each
 * label set gets a child once, whose `inc`/`dec`/`set` is plain arithmetic; prom-client is handed the
 * totals when the registry is read (its `collect` hook), so the exposition is the same as before.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export type LabelValues<L extends string> = Readonly<Record<L, string>>;

export interface CounterChild {
  inc(n?: number): void;
}

export interface GaugeChild {
  inc(n?: number): void;
  dec(n?: number): void;
  set(value: number): void;
}

interface MetricConfig<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly registry: Registry;
}

/** The key of a label set: its values in label-name order (label values never contain NUL). */
function keyOf<L extends string>(names: readonly L[], labels: LabelValues<L>): string {
  if (names.length === 1) return labels[names[0]!];
  let key = '';
  for (const name of names) key += `${labels[name]}\u0000`;
  return key;
}

class Children<C> {
  readonly all = new Map<string, { readonly labels: LabelValues<string>; readonly child: C }>();

  constructor(
    private readonly names: readonly string[],
    private readonly make: () => C,
  ) {}

  get(labels: LabelValues<string>): C {
    const key = keyOf(this.names, labels);
    let entry = this.all.get(key);
    if (entry === undefined) {
      entry = { labels: { ...labels }, child: this.make() };
      this.all.set(key, entry);
    }
    return entry.child;
  }
}

class PendingCount implements CounterChild {
  pending = 0;
  inc(n = 1): void {
    this.pending += n;
  }
}

export class CountingCounter<L extends string = never> {
  readonly metric: Counter<L>;
  private readonly children: Children<PendingCount>;

  constructor(config: MetricConfig<L>) {
    this.children = new Children(config.labelNames, () => new PendingCount());
    this.metric = new Counter<L>({
      name: config.name,
      help: config.help,
      labelNames: config.labelNames,
      registers: [config.registry],
      collect: () => this.flush(),
    });
  }

  /** The child for one label set; keep it where the same labels recur. */
  child(labels: LabelValues<L>): CounterChild {
    return this.children.get(labels);
  }

  inc(labels: LabelValues<L>, n = 1): void {
    this.children.get(labels).pending += n;
  }

  private flush(): void {
    for (const { labels, child } of this.children.all.values()) {
      if (child.pending === 0) continue;
      this.metric.inc(labels as LabelValues<L>, child.pending);
      child.pending = 0;
    }
  }
}

class TrackedValue implements GaugeChild {
  value = 0;
  dirty = false;
  inc(n = 1): void {
    this.value += n;
    this.dirty = true;
  }
  dec(n = 1): void {
    this.value -= n;
    this.dirty = true;
  }
  set(value: number): void {
    this.value = value;
    this.dirty = true;
  }
}

export class TrackingGauge<L extends string = never> {
  readonly metric: Gauge<L>;
  private readonly children: Children<TrackedValue>;

  constructor(config: MetricConfig<L>) {
    this.children = new Children(config.labelNames, () => new TrackedValue());
    this.metric = new Gauge<L>({
      name: config.name,
      help: config.help,
      labelNames: config.labelNames,
      registers: [config.registry],
      collect: () => this.flush(),
    });
  }

  child(labels: LabelValues<L>): GaugeChild {
    return this.children.get(labels);
  }

  inc(labels: LabelValues<L>, n = 1): void {
    this.children.get(labels).inc(n);
  }

  dec(labels: LabelValues<L>, n = 1): void {
    this.children.get(labels).dec(n);
  }

  set(labels: LabelValues<L>, value: number): void {
    this.children.get(labels).set(value);
  }

  private flush(): void {
    for (const { labels, child } of this.children.all.values()) {
      if (!child.dirty) continue;
      this.metric.set(labels as LabelValues<L>, child.value);
      child.dirty = false;
    }
  }
}
