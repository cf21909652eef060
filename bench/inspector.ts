/**
 * What the inspector costs: the same server + agent three ways, interleaved round by round in rotated
 * order: `off` (--inspector=false), `idle` (inspector on, no page open) and `viewed` (a page open during the
 * measurement, on the `idle` variant's own two processes). The viewer does what the page does: it holds
 * the live stream (SSE) of the server and of the agent and, at every frame, fetches the first page of the
 * actor table. It runs in this (otherwise idle) process, not in a browser, so the numbers are the
 * processes' cost, not a browser's competing for the cores.
 *
 * Measured per variant and round: download throughput through one tunnel (MB/s) and the CPU of server +
 * agent per MiB of it, and the dial rate of `n` concurrent dial+echo (500 in flight) and their CPU per
 * dial, as in the main benchmark.
 */
import * as http from 'http';
import type { Mode } from '../test/e2e/cluster';
import { startAgent, startServer, type BenchAgent, type BenchCluster, type BenchServer } from './cluster';
import { MiB, median } from './common';
import type { LineChild } from './lineChild';
import * as scenarios from './scenarios';
import type { Ctx } from './scenarios';

export { MiB };
export const VARIANTS = ['off', 'idle', 'viewed'] as const;
type VariantName = (typeof VARIANTS)[number];
/** inspector-ui/app.js refreshes the actor table at every second frame. */
const TABLE_EVERY_FRAMES = 2;

/** A viewer of one process's inspector: its live stream, and a table page fetched at every frame. */
function openViewer(port: number): { close: () => { frames: number; fetches: number } } {
  let frames = 0;
  let fetches = 0;
  let busy = false;
  const fetchTable = (): void => {
    if (busy) return;
    busy = true;
    http
      .get(
        { host: '127.0.0.1', port, path: '/inspector/api/actors?ended=true&sort=age&dir=desc&limit=100' },
        (res) => {
          res.resume();
          res.on('end', () => {
            fetches++;
            busy = false;
          });
        },
      )
      .on('error', () => (busy = false));
  };
  const req = http.get({ host: '127.0.0.1', port, path: '/inspector/api/stream' }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      const n = chunk.split('\n\n').length - 1;
      frames += n;
      // As the page does: the table once a second (every other frame), the charts at every frame.
      if (n > 0 && frames % TABLE_EVERY_FRAMES === 0) fetchTable();
    });
  });
  req.on('error', () => undefined);
  return {
    close: () => {
      req.destroy();
      return { frames, fetches };
    },
  };
}

interface Variant {
  variant: VariantName;
  server: BenchServer;
  agent: BenchAgent;
  ctx: Pick<Ctx, 'via' | 'pids'>;
}

async function startVariant(
  variant: VariantName,
  { mode, c }: { mode: Mode; c: BenchCluster },
): Promise<Variant> {
  const extraArgs = ['--event-log=off', ...(variant === 'off' ? ['--inspector=false'] : [])];
  const server = await startServer(c, { mode, name: `insp-${variant}`, extraArgs });
  const agent = await startAgent(c, server, { name: `insp-${variant}-agent`, extraArgs });
  return {
    variant,
    server,
    agent,
    ctx: {
      via: { kind: mode, socketPath: server.socketPath },
      pids: { server: server.pid, agent: agent.pid },
    },
  };
}

export interface InspectorConfig {
  mode?: Mode;
  warmupRounds: number;
  rounds: number;
  bytes: number;
  capMs: number;
  dials: number;
  inFlight: number;
}

interface Run {
  mbps: number;
  cpuMsPerMiB: number;
  dialsPerSec: number;
  cpuMsPerDial: number;
  failed: number;
  viewer: { frames: number; fetches: number }[];
}

async function measure(
  v: Variant,
  target: LineChild,
  cfg: InspectorConfig,
  log: (m: string) => void,
): Promise<Run> {
  const viewers =
    v.variant === 'viewed' ? [openViewer(v.server.adminPort), openViewer(v.agent.adminPort)] : [];
  try {
    const ports = await scenarios.listen(target);
    const cpuBefore = scenarios.cpuOf(v.ctx.pids);
    const dl = await scenarios.runClient(
      'download',
      { via: v.ctx.via, address: `127.0.0.1:${ports.source}`, bytes: cfg.bytes, capMs: cfg.capMs },
      cfg.capMs + 30_000,
    );
    const mbps = dl.mbps as number;
    // CPU per MiB moved resolves a few percent where MB/s, which swings by a quarter between rounds, cannot.
    const dlCpu = scenarios.cpuSum(scenarios.cpuOf(v.ctx.pids, cpuBefore), ['server', 'agent']);
    const cpuMsPerMiB = dlCpu === null ? NaN : dlCpu / (cfg.bytes / MiB);
    const c = await scenarios.concurrency(
      { ...v.ctx, target, log: () => undefined },
      { n: cfg.dials, inFlight: cfg.inFlight },
    );
    const dialsPerSec = c.ok / (c.openMs / 1000);
    // CPU of server + agent per dial while opening: steadier than rates on a machine shared with other work.
    const cpuMsPerDial = ((c.openCpuMs.server ?? NaN) + (c.openCpuMs.agent ?? NaN)) / Math.max(1, c.ok);
    const seen = viewers.map((w) => w.close());
    log(
      `${v.variant}: ${mbps.toFixed(0)} MB/s, ${cpuMsPerMiB.toFixed(2)} CPU ms/MiB, ${dialsPerSec.toFixed(0)} dials/s, ${cpuMsPerDial.toFixed(2)} CPU ms/dial` +
        (seen.length > 0
          ? ` (viewer: ${seen.map((s) => `${s.frames} frames, ${s.fetches} table fetches`).join('; ')})`
          : ''),
    );
    return { mbps, cpuMsPerMiB, dialsPerSec, cpuMsPerDial, failed: c.failed, viewer: seen };
  } finally {
    for (const w of viewers) w.close();
  }
}

type Figures = Pick<Run, 'mbps' | 'cpuMsPerMiB' | 'dialsPerSec' | 'cpuMsPerDial'>;
const FIGURES = [
  'mbps',
  'cpuMsPerMiB',
  'dialsPerSec',
  'cpuMsPerDial',
] as const satisfies readonly (keyof Figures)[];

export interface InspectorSection {
  mode: Mode;
  config: InspectorConfig;
  summary: Record<VariantName, Figures>;
  ratios: Partial<Record<VariantName, Figures>>;
  runs: Record<VariantName, Run[]>;
}

export async function runInspectorSection({
  c,
  cfg,
  log,
}: {
  c: BenchCluster;
  cfg: InspectorConfig;
  log: (m: string) => void;
}): Promise<InspectorSection> {
  const mode = cfg.mode ?? 'http-connect';
  const target = await scenarios.startTarget('target (inspector)');
  const variants: Variant[] = [];
  try {
    // `viewed` is `idle` with a page open: the same two processes, so the comparison between them is the
    // cost of opening a page and nothing else (no process-to-process difference in heap or scheduling).
    const off = await startVariant('off', { mode, c });
    const idle = await startVariant('idle', { mode, c });
    variants.push(off, idle, { ...idle, variant: 'viewed' });
    const runs: Record<VariantName, Run[]> = { off: [], idle: [], viewed: [] };
    for (let round = 0; round < cfg.warmupRounds + cfg.rounds; round++) {
      const order = VARIANTS.map((_, i) => variants[(i + round) % variants.length]!);
      for (const v of order) {
        const r = await measure(v, target, cfg, (m) =>
          log(`round ${round + 1}${round < cfg.warmupRounds ? ' (warm-up)' : ''} ${m}`),
        );
        if (round >= cfg.warmupRounds) runs[v.variant].push(r);
      }
    }
    const figures = (pick: (field: keyof Figures) => number): Figures =>
      Object.fromEntries(FIGURES.map((f) => [f, pick(f)])) as unknown as Figures;
    const summarize = (k: VariantName): Figures => figures((f) => median(runs[k].map((r) => r[f])));
    const summary = { off: summarize('off'), idle: summarize('idle'), viewed: summarize('viewed') };
    // Paired per round (same order position effects cancel over the rotation), then the median ratio.
    const ratio = (k: VariantName): Figures =>
      figures((f) => median(runs[k].map((r, i) => r[f] / runs.off[i]![f])));
    const ratios = { idle: ratio('idle'), viewed: ratio('viewed') };
    return { mode, config: cfg, summary, ratios, runs };
  } finally {
    for (const v of variants.slice(0, 2)) {
      await v.agent.stop();
      await v.server.stop();
    }
    await target.stop();
  }
}
