/**
 * The HPACK Huffman code (RFC 7541 Appendix B) and a table-driven decoder for it, plus an encoder
 * (used by tests and available to anyone who wants smaller header blocks).
 */

/** Code of each symbol (index = octet value, 256 = EOS), right-aligned in its bit length. */
const CODES: readonly number[] = [
  0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7, 0xfffffe8, 0xffffea,
  0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec, 0xfffffed, 0xfffffee, 0xfffffef,
  0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3, 0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7,
  0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb, 0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa, 0x3fa,
  0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18, 0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x5c,
  0xfb, 0x7ffc, 0x20, 0xffb, 0x3fc, 0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
  0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0,
  0x1ffc, 0x3ffc, 0x22, 0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26, 0x27, 0x6, 0x74, 0x75, 0x28, 0x29,
  0x2a, 0x7, 0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd,
  0xffffffc, 0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9, 0x3fffd6, 0x7fffda,
  0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf, 0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0,
  0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3, 0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6,
  0x7fffe7, 0xffffef, 0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde, 0x7fffea,
  0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec, 0x1fffe0, 0x1fffe1, 0x3fffe0,
  0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef, 0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5,
  0x3fffe6, 0x7ffff1, 0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec,
  0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed, 0x7fff2, 0x1fffe3,
  0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2, 0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9,
  0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5, 0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7,
  0x1fffe8, 0x7ffff3, 0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4,
  0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea, 0x7ffffeb,
  0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee, 0x3fffffff,
];

/** Bit length of each code in CODES. */
const LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28,
  28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7,
  8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19,
  13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13,
  28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21,
  22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23,
  22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25,
  25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

export const HUFFMAN_EOS = 256;

// The decoder is a state machine over nibbles: a state is an internal node of the code tree (257
// leaves => 256 internal nodes, root = 0), and each 4-bit nibble moves to a new state, emitting at
// most one symbol (no code is shorter than 5 bits). One Uint32Array entry per (state, nibble): 16 KiB,
// where a table per whole octet (256 KiB) would decode a typical header about 1.5x faster but cost a
// quarter MiB of every process that meets a Huffman string. Entry layout:
//   bits 0-7 next state, 8-15 symbol, bit 16 symbol emitted, bit 17 EOS reached (invalid).
const EMITTED = 1 << 16;
const EOS_REACHED = 1 << 17;

interface Transitions {
  readonly nibbles: Uint32Array;
  /** Per state: 1 when stopping there is legal (the bits since the last symbol are at most 7 ones). */
  readonly accept: Uint8Array;
}

// Built on first use: cold code that processes which never decode Huffman can skip.
let transitions: Transitions | undefined;

function buildTransitions(): Transitions {
  // children[node * 2 + bit]: >= 0 is an internal node, < 0 is the leaf -(symbol + 1).
  const children = new Int32Array(256 * 2).fill(0x7fffffff);
  let nodes = 1;
  for (let sym = 0; sym <= 256; sym++) {
    const code = CODES[sym]!;
    const len = LENGTHS[sym]!;
    let node = 0;
    for (let i = len - 1; i > 0; i--) {
      const slot = node * 2 + ((code >>> i) & 1);
      let next = children[slot]!;
      if (next === 0x7fffffff) children[slot] = next = nodes++;
      if (next < 0) throw new Error('hpack huffman table is not prefix-free');
      node = next;
    }
    children[node * 2 + (code & 1)] = -(sym + 1);
  }
  if (nodes !== 256 || children.includes(0x7fffffff)) throw new Error('hpack huffman table is incomplete');

  // Depth of each internal node, and whether the path to it is all ones (a prefix of EOS).
  // Children are numbered after their parent, so one forward pass suffices.
  const depth = new Uint8Array(256);
  const allOnes = new Uint8Array(256);
  allOnes[0] = 1;
  for (let node = 0; node < 256; node++) {
    for (let bit = 0; bit < 2; bit++) {
      const c = children[node * 2 + bit]!;
      if (c >= 0) {
        depth[c] = depth[node]! + 1;
        allOnes[c] = allOnes[node]! & bit;
      }
    }
  }

  const nibbles = new Uint32Array(256 * 16);
  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let out = 0;
      for (let i = 3; i >= 0; i--) {
        const c = children[node * 2 + ((nibble >>> i) & 1)]!;
        if (c >= 0) {
          node = c;
          continue;
        }
        const sym = -c - 1;
        if (sym === HUFFMAN_EOS) {
          out = EOS_REACHED;
          break;
        }
        out = EMITTED | (sym << 8);
        node = 0;
      }
      nibbles[state * 16 + nibble] = out | node;
    }
  }

  const accept = new Uint8Array(256);
  for (let node = 0; node < 256; node++) {
    accept[node] = node === 0 || (allOnes[node] === 1 && depth[node]! <= 7) ? 1 : 0;
  }
  return { nibbles, accept };
}

let scratch = Buffer.allocUnsafe(4096);

/**
 * Decodes src[start, end) as a Huffman string into a latin1 string. Returns undefined when the
 * input is invalid per RFC 7541 5.2: it contains EOS, or ends with padding that is longer than 7
 * bits or not all ones.
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number): string | undefined {
  // Codes are at least 5 bits, so n octets decode to at most n * 8 / 5 symbols.
  const max = ((end - start) * 8) / 5;
  if (scratch.length < max) scratch = Buffer.allocUnsafe(Math.ceil(Math.max(max, scratch.length * 2)));
  const out = scratch;
  const { nibbles, accept } = (transitions ??= buildTransitions());
  let n = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const octet = src[i]!;
    let e = nibbles[(state << 4) | (octet >>> 4)]!;
    if (e & EOS_REACHED) return undefined;
    // Uint8Array stores keep only the low 8 bits.
    if (e & EMITTED) out[n++] = e >>> 8;
    e = nibbles[((e & 0xff) << 4) | (octet & 0x0f)]!;
    if (e & EOS_REACHED) return undefined;
    if (e & EMITTED) out[n++] = e >>> 8;
    state = e & 0xff;
  }
  if (accept[state] === 0) return undefined;
  return out.toString('latin1', 0, n);
}

/** Octets huffmanEncode would write for the latin1 string s. */
export function huffmanEncodedLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += LENGTHS[s.charCodeAt(i) & 0xff]!;
  return (bits + 7) >>> 3;
}

/** Writes the Huffman encoding of the latin1 string s at dst[pos]; returns the end position. */
export function huffmanEncode(s: string, dst: Uint8Array, pos: number): number {
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    let len = LENGTHS[sym]!;
    const code = CODES[sym]!;
    // Feed the code in chunks of at most 24 bits so acc (<= 7 + 24 bits) never exceeds 31 bits.
    while (len > 0) {
      const take = len > 24 ? len - 24 : len;
      len -= take;
      acc = (acc << take) | ((code >>> len) & ((1 << take) - 1));
      bits += take;
      while (bits >= 8) {
        bits -= 8;
        dst[pos++] = (acc >>> bits) & 0xff;
      }
      acc &= (1 << bits) - 1;
    }
  }
  // Pad with the most significant bits of EOS (all ones).
  if (bits > 0) dst[pos++] = ((acc << (8 - bits)) | (0xff >>> bits)) & 0xff;
  return pos;
}
