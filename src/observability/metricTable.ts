/**
 * Metrics declared as data: each process lists its metrics (name, help, labels, buckets) in a table and
 * gets them built in one registry. Counters and gauges are the counting kind (countingMetrics.ts), cheap
 * to update on the dial path; histograms are prom-client's own.
 */
import type { Registry } from 'prom-client';
import { Histogram } from './promClient';
import { CountingCounter, TrackingGauge } from './countingMetrics';

interface Spec<K extends string, L extends string> {
  readonly kind: K;
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
}
export type CounterSpec<L extends string> = Spec<'counter', L>;
export type GaugeSpec<L extends string> = Spec<'gauge', L>;
export interface HistogramSpec<L extends string> extends Spec<'histogram', L> {
  readonly buckets: readonly number[];
}
type AnySpec = CounterSpec<string> | GaugeSpec<string> | HistogramSpec<string>;

export const counter = <L extends string = never>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): CounterSpec<L> => ({ kind: 'counter', name, help, labelNames });

export const gauge = <L extends string = never>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): GaugeSpec<L> => ({ kind: 'gauge', name, help, labelNames });

export const histogram = <L extends string = never>(
  name: string,
  help: string,
  buckets: readonly number[],
  labelNames: readonly L[] = [],
): HistogramSpec<L> => ({ kind: 'histogram', name, help, labelNames, buckets });

export type Built<S> =
  S extends CounterSpec<infer L>
    ? CountingCounter<L>
    : S extends GaugeSpec<infer L>
      ? TrackingGauge<L>
      : S extends HistogramSpec<infer L>
        ? Histogram<L>
        : never;

/** Builds every metric of `specs` as `<prefix>_<name>`, registered in table order. */
export function buildMetrics<T extends Record<string, AnySpec>>(
  registry: Registry,
  prefix: string,
  specs: T,
): { readonly [K in keyof T]: Built<T[K]> } {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const config = { name: `${prefix}_${spec.name}`, help: spec.help, labelNames: spec.labelNames };
    out[key] =
      spec.kind === 'counter'
        ? new CountingCounter({ ...config, registry })
        : spec.kind === 'gauge'
          ? new TrackingGauge({ ...config, registry })
          : new Histogram({ ...config, buckets: [...spec.buckets], registers: [registry] });
  }
  return out as { readonly [K in keyof T]: Built<T[K]> };
}
