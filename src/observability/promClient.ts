/**
 * The parts of prom-client the binaries use, each loaded from the package's own file rather than through its
 * index. The index also loads, whether or not they are used, the Pushgateway (`http`, `https`, `zlib`), the
 * cluster aggregator (`cluster`, and with it `child_process` and `dgram`) and, for the exemplars of the CPU
 * default metric, all of `@opentelemetry/api` (51 modules); together about 1.5 MiB of an idle server's or
 * agent's RSS (measured with the bench's start-up), paid by every agent on every node. Every file of ours
 * that needs a prom-client value imports it from here; types may still come from 'prom-client' itself (a
 * type-only import loads nothing).
 * The version is pinned in package.json because these are the package's internal paths, not its API.
 */
import type * as Prom from 'prom-client';

/* eslint-disable @typescript-eslint/no-require-imports -- each is one file of prom-client, see above */
export const Registry = require('prom-client/lib/registry') as typeof Prom.Registry;
export const Counter = require('prom-client/lib/counter') as typeof Prom.Counter;
export const Gauge = require('prom-client/lib/gauge') as typeof Prom.Gauge;
export const Histogram = require('prom-client/lib/histogram') as typeof Prom.Histogram;
/* eslint-enable @typescript-eslint/no-require-imports */

export type Registry = Prom.Registry;
export type Counter<L extends string = string> = Prom.Counter<L>;
export type Gauge<L extends string = string> = Prom.Gauge<L>;
export type Histogram<L extends string = string> = Prom.Histogram<L>;
