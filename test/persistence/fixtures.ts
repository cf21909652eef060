/** Shared test fixtures: temp dirs, a manual clock, polling waits and realistic event sequences. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor as pollUntil } from '../helpers/waitFor';
import { eventFactory, monotonicUlid, type LifecycleEvent, type ServerEventFactory } from '../../src/events';
import type { EventLogLogger, MalformedRecord } from '../../src/persistence/types';

export const MAX_INT64 = '9223372036854775807';

export async function tempDir(
  prefix = 'konnectivity-events-',
): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export class ManualClock {
  constructor(public ms = Date.parse('2025-01-01T00:00:00.000Z')) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

/**
 * A factory on a manual clock. Ids keep real randomness: they are NATS msgIDs, and ids repeated
 * across tests would be (rightly) dropped by the stream as duplicates.
 */
export function serverFactory(serverId: string, clock = new ManualClock()): ServerEventFactory {
  return eventFactory({ serverId, clock, ids: monotonicUlid({ now: () => clock.now() }) });
}

/** One full connection: requested, established, opened, closed (4 events). */
export function connectionLifecycle(
  f: ServerEventFactory,
  random: bigint | string,
  agentId = 'agent-1',
): LifecycleEvent[] {
  const destination = '10.0.0.5:10250';
  return [
    f.dialRequested({ random, destination, mode: 'grpc', protocol: 'tcp' }),
    f.dialEstablished({ random, destination, agentId, connectID: 1n, latencyMs: 2 }),
    f.connOpened({ random, destination, agentId, connectID: 1n, mode: 'grpc' }),
    f.connClosed({
      random,
      destination,
      agentId,
      connectID: 1n,
      bytesToAgent: 100,
      bytesFromAgent: 2000,
      durationMs: 15,
      closedBy: 'frontend',
      reason: 'close-req',
    }),
  ];
}

/** `count` events: agent connect, then connection lifecycles. */
export function manyEvents(f: ServerEventFactory, count: number): LifecycleEvent[] {
  const out: LifecycleEvent[] = [
    f.agentConnected({ agentId: 'agent-1', identifiers: 'host=node1', remoteAddress: '10.0.0.1:5555' }),
  ];
  for (let i = 0; out.length < count; i++) out.push(...connectionLifecycle(f, BigInt(i) * 7919n + 1n));
  return out.slice(0, count);
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iterable) out.push(x);
  return out;
}

/** Polls `condition` until true or the deadline passes (then throws with `what`): test/helpers/waitFor.ts. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  await pollUntil(condition, { description: what, timeoutMs });
}

/** A logger that records instead of printing. */
export function recordingLogger(): EventLogLogger & {
  lines: { level: string; msg: string; fields?: Record<string, unknown> }[];
} {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  return {
    lines,
    info: (msg, fields) => lines.push({ level: 'info', msg, fields }),
    warn: (msg, fields) => lines.push({ level: 'warn', msg, fields }),
    error: (msg, fields) => lines.push({ level: 'error', msg, fields }),
  };
}

export function malformedSink(): { records: MalformedRecord[]; handler: (r: MalformedRecord) => void } {
  const records: MalformedRecord[] = [];
  return { records, handler: (r) => records.push(r) };
}
