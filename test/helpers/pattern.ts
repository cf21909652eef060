/**
 * A deterministic byte stream for integrity checks. Each 4-byte word is a hash of its index, so there is no
 * short period: a dropped, duplicated or reordered chunk at any offset changes what is seen there.
 */

/**
 * A bijection on 32-bit words (xor-shifts and odd multipliers), so no two word indices give the same word.
 * The multipliers are 16-bit so the product stays exact in a double: Math.imul is not inlined inside jest's
 * vm context, where it made a 16 MiB pattern take a second instead of 10 ms.
 */
function wordAt(index: number): number {
  let x = (index + 0x9e3779b9) | 0;
  x ^= x >>> 16;
  x = ((x >>> 0) * 0x9e37) | 0;
  x ^= x >>> 13;
  x = ((x >>> 0) * 0x7feb) | 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** Bytes [offset, offset + length) of the pattern. Host byte order: both ends run on this machine. */
export function patternBytes(offset: number, length: number): Buffer {
  if (length <= 0) return Buffer.alloc(0);
  const firstWord = Math.floor(offset / 4);
  const lastWord = Math.floor((offset + length - 1) / 4);
  const words = new Uint32Array(lastWord - firstWord + 1);
  for (let i = 0; i < words.length; i++) words[i] = wordAt(firstWord + i);
  const start = offset - firstWord * 4;
  return Buffer.from(words.buffer, start, length);
}

/** Compare in blocks so verifying a large download does not double its memory. */
const VERIFY_BLOCK = 1024 * 1024;

/** Index in `buf` of the first byte that differs from the pattern at `offset`, or -1 if all match. */
export function firstPatternMismatch(buf: Buffer, offset = 0): number {
  for (let start = 0; start < buf.length; start += VERIFY_BLOCK) {
    const end = Math.min(buf.length, start + VERIFY_BLOCK);
    const expected = patternBytes(offset + start, end - start);
    if (buf.compare(expected, 0, expected.length, start, end) === 0) continue;
    for (let i = start; i < end; i++) if (buf[i] !== expected[i - start]) return i;
  }
  return -1;
}

/** True when `buf` is exactly the pattern starting at `offset`. */
export function verifyPattern(buf: Buffer, offset = 0): boolean {
  return firstPatternMismatch(buf, offset) === -1;
}
