/**
 * HPACK (RFC 7541) header block encoder that never touches the peer's dynamic table, so its
 * output is valid for any peer whatever its SETTINGS_HEADER_TABLE_SIZE, and needs no state.
 */
import { STATIC_NAMES, STATIC_VALUES } from './staticTable';

/** Lowest static index for each static name; entries sharing a name are contiguous from there. */
const STATIC_NAME_INDEX = new Map<string, number>();
for (let i = STATIC_NAMES.length; i >= 1; i--) STATIC_NAME_INDEX.set(STATIC_NAMES[i - 1]!, i);

/**
 * Writes value as an HPACK integer (RFC 7541 5.1) with an N-bit prefix at dst[pos], OR-ing
 * `flags` into the first octet. Returns the position after it.
 */
export function writeInteger(
  dst: Uint8Array,
  pos: number,
  value: number,
  prefixBits: number,
  flags = 0,
): number {
  const prefixMax = (1 << prefixBits) - 1;
  if (value < prefixMax) {
    dst[pos++] = flags | value;
    return pos;
  }
  dst[pos++] = flags | prefixMax;
  value -= prefixMax;
  while (value >= 0x80) {
    dst[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  dst[pos++] = value;
  return pos;
}

/** Raw (non-Huffman) string literal: 7-bit prefix length, then the latin1 octets. */
function writeString(dst: Buffer, pos: number, s: string): number {
  const len = s.length;
  pos = writeInteger(dst, pos, len, 7);
  // A JS loop beats Buffer#write's native call for the short strings typical of headers.
  if (len > 64) return pos + dst.write(s, pos, 'latin1');
  for (let i = 0; i < len; i++) dst[pos + i] = s.charCodeAt(i);
  return pos + len;
}

/**
 * Encodes a flat header list [name0, value0, name1, value1, ...] as a header block, in order.
 * Exact static entries (e.g. ':status' '200') become indexed fields; everything else is a
 * literal without indexing, naming a static entry when the name is in the static table.
 * Strings are raw latin1 octets (characters above 0xff lose their high bits; callers pass
 * latin1/ASCII). Never emits size updates or incremental indexing.
 */
export function encodeHeaderBlock(headers: readonly string[]): Buffer {
  const n = headers.length;
  if (n % 2 !== 0) throw new TypeError('header list must have an even number of elements');
  // Upper bound per field: 1 type octet + a name literal (or 2 octets of type + name index), and
  // a literal is at most 6 length octets (lengths < 2^35) plus its characters.
  let bound = 0;
  for (let i = 0; i < n; i++) bound += headers[i]!.length + 7;
  const dst = Buffer.allocUnsafe(bound);
  let pos = 0;
  for (let i = 0; i < n; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    const first = STATIC_NAME_INDEX.get(name);
    if (first === undefined) {
      dst[pos++] = 0x00;
      pos = writeString(dst, pos, name);
      pos = writeString(dst, pos, value);
      continue;
    }
    let exact = 0;
    for (let j = first; j <= STATIC_NAMES.length && STATIC_NAMES[j - 1] === name; j++) {
      if (STATIC_VALUES[j - 1] === value) {
        exact = j;
        break;
      }
    }
    if (exact !== 0) {
      pos = writeInteger(dst, pos, exact, 7, 0x80);
    } else {
      pos = writeInteger(dst, pos, first, 4, 0x00);
      pos = writeString(dst, pos, value);
    }
  }
  return dst.subarray(0, pos);
}
