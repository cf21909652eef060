/**
 * Counters and gauges that are cheap to update on every dial and every packet. prom-client hashes and
 * validates the label set on each `inc`/`set` (about 1 µs, measured; a child from `labels()` does the same
 * work, it only binds the labels), which adds up at several updates per dial in each process. Here each
 * label set gets a child once, whose `inc`/`dec`/`set` is plain arithmetic; prom-client is handed the
 * totals when the registry is read (its `collect` hook), so the exposition is the same as before.
 */
import type { Registry } from 'prom-client';
import { Counter, Gauge } from './promClient';

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

/** What prom-client's Counter and Gauge are built from: the config, and the hook that flushes the children. */
interface PromConfig<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly registers: Registry[];
  readonly collect: () => void;
}

/**
 * The children of one metric, one per label set (keyed by the label values in label-name order; label
 * values never contain NUL), each written into the prom-client metric `M` when the registry is read.
 */
abstract class ChildrenOf<
  L extends string,
  C extends { inc(n?: number): void; flushTo(metric: M, labels: LabelValues<L>): void },
  M,
> {
  readonly metric: M;
  private readonly names: readonly L[];
  private readonly all = new Map<string, { readonly labels: LabelValues<L>; readonly child: C }>();

  protected constructor(
    config: MetricConfig<L>,
    private readonly Child: new () => C,
    Metric: new (config: PromConfig<L>) => M,
  ) {
    this.names = config.labelNames;
    const { name, help, labelNames, registry } = config;
    this.metric = new Metric({
      name,
      help,
      labelNames,
      registers: [registry],
      collect: () => this.flushInto(this.metric),
    });
  }

  inc(labels: LabelValues<L>, n = 1): void {
    this.child(labels).inc(n);
  }

  /** The child for one label set; keep it where the same labels recur. */
  child(labels: LabelValues<L>): C {
    const names = this.names;
    let key = '';
    if (names.length === 1) key = labels[names[0]!];
    else for (const name of names) key += `${labels[name]}\u0000`;
    let entry = this.all.get(key);
    if (entry === undefined) {
      entry = { labels: { ...labels }, child: new this.Child() };
      this.all.set(key, entry);
    }
    return entry.child;
  }

  private flushInto(metric: M): void {
    for (const { labels, child } of this.all.values()) child.flushTo(metric, labels);
  }
}

class PendingCount<L extends string> implements CounterChild {
  private pending = 0;
  inc(n = 1): void {
    this.pending += n;
  }
  flushTo(metric: Counter<L>, labels: LabelValues<L>): void {
    if (this.pending === 0) return;
    metric.inc(labels, this.pending);
    this.pending = 0;
  }
}

export class CountingCounter<L extends string = never> extends ChildrenOf<L, PendingCount<L>, Counter<L>> {
  constructor(config: MetricConfig<L>) {
    super(config, PendingCount, Counter);
  }
}

class TrackedValue<L extends string> implements GaugeChild {
  private value = 0;
  private dirty = false;
  inc(n = 1): void {
    this.set(this.value + n);
  }
  dec(n = 1): void {
    this.set(this.value - n);
  }
  set(value: number): void {
    this.value = value;
    this.dirty = true;
  }
  flushTo(metric: Gauge<L>, labels: LabelValues<L>): void {
    if (!this.dirty) return;
    metric.set(labels, this.value);
    this.dirty = false;
  }
}

export class TrackingGauge<L extends string = never> extends ChildrenOf<L, TrackedValue<L>, Gauge<L>> {
  constructor(config: MetricConfig<L>) {
    super(config, TrackedValue, Gauge);
  }

  dec(labels: LabelValues<L>, n = 1): void {
    this.child(labels).dec(n);
  }

  set(labels: LabelValues<L>, value: number): void {
    this.child(labels).set(value);
  }
}
