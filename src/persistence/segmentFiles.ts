/**
 * Naming, listing and line reading for a directory of numbered segment files
 * (`<prefix>-<first seq, 16 digits>.jsonl`). Naming a segment after its first record's seq lets the
 * outbox delete whole acknowledged segments and lets readers skip segments without opening them.
 */
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface SegmentFile {
  readonly path: string;
  readonly firstSeq: number;
}

const SEQ_DIGITS = 16;
/** Large reads keep replay near the disk's sequential speed without holding a whole segment. */
const READ_CHUNK_BYTES = 256 * 1024;

export function segmentPath(dir: string, prefix: string, firstSeq: number): string {
  return join(dir, `${prefix}-${String(firstSeq).padStart(SEQ_DIGITS, '0')}.jsonl`);
}

/** Segments in seq order; a missing directory is an empty log. */
export async function listSegments(dir: string, prefix: string): Promise<SegmentFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const pattern = new RegExp(`^${escapeRegExp(prefix)}-(\\d{${SEQ_DIGITS}})\\.jsonl$`);
  const out: SegmentFile[] = [];
  for (const name of names) {
    const m = pattern.exec(name);
    if (m) out.push({ path: join(dir, name), firstSeq: Number(m[1]) });
  }
  return out.sort((a, b) => a.firstSeq - b.firstSeq);
}

export interface FileLine {
  readonly text: string;
  /** False for trailing bytes with no newline yet: a torn write, or a write still in progress. */
  readonly complete: boolean;
  /** Byte offset just after this line (and its newline). */
  readonly end: number;
}

/**
 * Lines of one file from `offset`. Splitting on the newline byte is UTF-8 safe (0x0a never occurs
 * inside a multi-byte sequence). A file removed meanwhile (retention, outbox cleanup) reads as empty.
 * Nothing at or after byte `end` is read (recovery stops where the previous run's records end).
 */
export async function* readLines(path: string, offset = 0, end = Infinity): AsyncGenerator<FileLine> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    let pending = Buffer.alloc(0);
    let position = offset;
    let pendingStart = offset;
    for (;;) {
      const want = Math.min(chunk.length, end - position);
      if (want <= 0) break;
      const { bytesRead } = await handle.read(chunk, 0, want, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const data =
        pending.length > 0
          ? Buffer.concat([pending, chunk.subarray(0, bytesRead)])
          : chunk.subarray(0, bytesRead);
      let start = 0;
      for (let nl = data.indexOf(0x0a, start); nl !== -1; nl = data.indexOf(0x0a, start)) {
        yield { text: data.toString('utf8', start, nl), complete: true, end: pendingStart + nl + 1 };
        start = nl + 1;
      }
      pending = Buffer.from(data.subarray(start));
      pendingStart += start;
    }
    if (pending.length > 0) yield { text: pending.toString('utf8'), complete: false, end: position };
  } finally {
    await handle.close();
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
