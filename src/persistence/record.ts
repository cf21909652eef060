/**
 * One stored record per line: `{"seq":42,"event":{...},"crc":"1a2b3c4d"}`. The CRC-32 covers every byte
 * before `,"crc"`, so a torn write or a flipped bit is detected, while each line stays plain JSON that
 * `jq` and `grep` can read. `seq` is the position in the log (the outbox's ack cursor counts it).
 */
import { crc32 } from 'node:zlib';
import type { LifecycleEvent } from '../events';
import { validateEvent } from '../events';
import type { MalformedRecord } from './types';
import { upcast } from './upcast';

const CRC_SUFFIX = /,"crc":"([0-9a-f]{8})"\}$/;

/** `eventJson` is `JSON.stringify(event)`, computed once by the caller (the outbox publishes it too). */
export function encodeRecord(seq: number, eventJson: string): string {
  const body = `{"seq":${seq},"event":${eventJson}`;
  return `${body},"crc":"${crcHex(body)}"}\n`;
}

export type DecodedRecord =
  | { ok: true; seq: number; event: LifecycleEvent }
  | { ok: false; problem: MalformedRecord['problem']; detail: string };

/** Decodes one line without its newline. `complete` is false for a last line that has no newline. */
export function decodeRecord(line: string, complete = true): DecodedRecord {
  const match = CRC_SUFFIX.exec(line);
  if (match === null) {
    // A record's start without its checksum is a torn write (even once a restart ended the line).
    return !complete || line.startsWith('{"seq":')
      ? { ok: false, problem: 'truncated', detail: `torn record: ${preview(line)}` }
      : { ok: false, problem: 'bad-json', detail: `not a record: ${preview(line)}` };
  }
  const body = line.slice(0, match.index);
  if (crcHex(body) !== match[1]) return { ok: false, problem: 'bad-checksum', detail: preview(line) };
  let parsed: { seq?: unknown; event?: unknown };
  try {
    parsed = JSON.parse(`${body}}`) as typeof parsed;
  } catch (err) {
    return { ok: false, problem: 'bad-json', detail: (err as Error).message };
  }
  if (typeof parsed.seq !== 'number') return { ok: false, problem: 'bad-json', detail: 'no seq' };
  const checked = validateEvent(upcast(parsed.event));
  if (!checked.ok) return { ok: false, problem: 'invalid-event', detail: checked.problem };
  return { ok: true, seq: parsed.seq, event: checked.event };
}

function crcHex(text: string): string {
  return crc32(text).toString(16).padStart(8, '0');
}

function preview(line: string): string {
  return line.length > 80 ? `${line.slice(0, 80)}...` : line;
}
