/**
 * A checkpoint of the folded recovery state at a position of the log, so start-up reads a snapshot plus
 * the tail instead of every stored event. It is only a cache: one that is missing, corrupt, from another
 * version or ahead of the log is ignored, and start-up folds everything that is left instead.
 * Written to a temporary file, fsynced and renamed, so a crash leaves the old checkpoint or the new one.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { initialState, type RecoveryState } from './recoveryState';

export const CHECKPOINT_FILE = 'checkpoint.json';
const VERSION = 1;

export interface Checkpoint {
  /** The last log position folded into `state`: a segment seq (file) or a stream sequence (NATS). */
  readonly position: number;
  /** Which log the position belongs to (NATS: the stream's creation time, so a recreated stream is noticed). */
  readonly logId?: string;
  readonly state: RecoveryState;
}

interface StoredState {
  running?: { since: string };
  agents: [string, unknown][];
  servers: [string, unknown][];
  dials: [string, unknown][];
  conns: [string, unknown][];
  counters: Record<string, unknown>;
  events: number;
  lastEventId?: string;
}

export function encodeCheckpoint(c: Checkpoint): string {
  const s = c.state;
  const k = s.counters;
  const state: StoredState = {
    ...(s.running ? { running: s.running } : {}),
    agents: [...s.agents],
    servers: [...s.servers],
    dials: [...s.dials],
    conns: [...s.conns],
    counters: {
      ...k,
      dialFailures: [...k.dialFailures],
      endpointDialFailures: [...k.endpointDialFailures],
      bytesByAgent: [...k.bytesByAgent],
      bytesByServer: [...k.bytesByServer],
    },
    events: s.events,
    ...(s.lastEventId !== undefined ? { lastEventId: s.lastEventId } : {}),
  };
  const body = JSON.stringify({ v: VERSION, position: c.position, logId: c.logId, state });
  return `${JSON.stringify({ crc: crc32(body), body })}\n`;
}

/** The checkpoint in `text`, or undefined with why it cannot be used. */
export function decodeCheckpoint(
  text: string,
): { ok: true; checkpoint: Checkpoint } | { ok: false; why: string } {
  try {
    const outer = JSON.parse(text) as { crc?: unknown; body?: unknown };
    if (typeof outer.body !== 'string' || outer.crc !== crc32(outer.body))
      return { ok: false, why: 'bad checksum' };
    const inner = JSON.parse(outer.body) as {
      v?: unknown;
      position?: unknown;
      logId?: unknown;
      state?: StoredState;
    };
    if (inner.v !== VERSION) return { ok: false, why: `version ${String(inner.v)}` };
    if (typeof inner.position !== 'number' || inner.state === undefined)
      return { ok: false, why: 'incomplete' };
    const st = inner.state;
    const c = st.counters;
    const base = initialState();
    const state = {
      ...base,
      ...(st.running ? { running: st.running } : {}),
      agents: new Map(st.agents),
      servers: new Map(st.servers),
      dials: new Map(st.dials),
      conns: new Map(st.conns),
      counters: {
        ...base.counters,
        ...c,
        dialFailures: new Map(c.dialFailures as [string, number][]),
        endpointDialFailures: new Map(c.endpointDialFailures as [string, number][]),
        bytesByAgent: new Map(c.bytesByAgent as never),
        bytesByServer: new Map(c.bytesByServer as never),
      },
      events: st.events,
      ...(st.lastEventId !== undefined ? { lastEventId: st.lastEventId } : {}),
    } as RecoveryState;
    return {
      ok: true,
      checkpoint: {
        position: inner.position,
        ...(typeof inner.logId === 'string' ? { logId: inner.logId } : {}),
        state,
      },
    };
  } catch (err) {
    return { ok: false, why: (err as Error).message };
  }
}

/** The stored checkpoint, or undefined (with the reason, unless there simply is none). */
export async function readCheckpoint(path: string): Promise<{ checkpoint?: Checkpoint; why?: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    return { why: (err as Error).message };
  }
  const decoded = decodeCheckpoint(text);
  return decoded.ok ? { checkpoint: decoded.checkpoint } : { why: decoded.why };
}

export async function writeCheckpoint(path: string, checkpoint: Checkpoint, fsync = true): Promise<void> {
  // Encoded before the first await: the state is live and may change once we yield.
  const text = encodeCheckpoint(checkpoint);
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(text);
    if (fsync) await handle.datasync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
