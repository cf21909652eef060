/**
 * The HPACK codec (RFC 7541): the Appendix C examples, malformed input, random round trips, and
 * interop with node:http2 (nghttp2) in both directions over raw HTTP/2 frames.
 */
import * as http2 from 'http2';
import * as net from 'net';
import { decodeInteger, HpackDecoder, HpackError } from '../../../src/transport/h2/hpack/hpackDecoder';
import { encodeHeaderBlock, writeInteger } from '../../../src/transport/h2/hpack/hpackEncoder';
import { huffmanDecode, huffmanEncode, huffmanEncodedLength } from '../../../src/transport/h2/hpack/huffman';
import { STATIC_ENTRIES } from '../../../src/transport/h2/hpack/staticTable';
import { waitFor } from '../../helpers/waitFor';

/** Only stops a hung test. */
jest.setTimeout(30_000);

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A small LCG (Numerical Recipes constants) so random tests replay identically. */
function lcg(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return Math.floor((state / 2 ** 32) * n);
  };
}

function hpackErrorOf(fn: () => unknown): HpackError {
  try {
    fn();
  } catch (err) {
    if (err instanceof HpackError) return err;
    throw err;
  }
  throw new Error('expected an HpackError');
}

function expectCompressionError(block: Buffer, decoder = new HpackDecoder()): void {
  expect(hpackErrorOf(() => decoder.decode(block)).reason).toBe('compression');
}

describe('RFC 7541 Appendix C', () => {
  it.each([
    // [value, prefix bits, encoding]
    [10, 5, '0a'], // C.1.1
    [1337, 5, '1f9a0a'], // C.1.2
    [42, 8, '2a'], // C.1.3
  ])('C.1 encodes and decodes %d with a %d-bit prefix as %s', (value, prefix, encoding) => {
    const buf = Buffer.alloc(8);
    const end = writeInteger(buf, 0, value, prefix);
    expect(toHex(buf.subarray(0, end))).toBe(encoding);
    expect(decodeInteger(hex(encoding), 0, prefix)).toEqual({ value, next: encoding.length / 2 });
    // The bits above the prefix belong to the representation, not the integer.
    const flagged = hex(encoding);
    if (prefix < 8) flagged[0]! |= 0xff << prefix;
    expect(decodeInteger(flagged, 0, prefix).value).toBe(value);
  });

  it('C.1 integers reach the decoder through a table size update (5-bit prefix)', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('2a'))).toEqual([]);
    expect(d.dynamicTableLimit).toBe(10);
    expect(d.decode(hex('3f 9a 0a'))).toEqual([]);
    expect(d.dynamicTableLimit).toBe(1337);
  });

  it.each([
    [
      'C.2.1 literal with indexing',
      '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572',
      ['custom-key', 'custom-header'],
      ['custom-key', 'custom-header'],
      55,
    ],
    [
      'C.2.2 literal without indexing',
      '040c 2f73 616d 706c 652f 7061 7468',
      [':path', '/sample/path'],
      [],
      0,
    ],
    [
      'C.2.3 literal never indexed',
      '1008 7061 7373 776f 7264 0673 6563 7265 74',
      ['password', 'secret'],
      [],
      0,
    ],
    ['C.2.4 indexed', '82', [':method', 'GET'], [], 0],
  ])('%s', (_name, block, headers, table, size) => {
    const d = new HpackDecoder();
    expect(d.decode(hex(block))).toEqual(headers);
    expect(d.dynamicTableEntries()).toEqual(table);
    expect(d.dynamicTableSize).toBe(size);
  });

  interface Step {
    readonly block: string;
    readonly headers: readonly string[];
    /** Newest first. */
    readonly table: readonly string[];
    readonly size: number;
  }

  function runSeries(tableSize: number, steps: readonly Step[]): void {
    // One decoder across the series: later blocks only decode right if earlier ones filled the table.
    const d = new HpackDecoder(tableSize);
    for (const step of steps) {
      expect(d.decode(hex(step.block))).toEqual(step.headers);
      expect(d.dynamicTableEntries()).toEqual(step.table);
      expect(d.dynamicTableSize).toBe(step.size);
    }
  }

  const request1 = [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com'];
  const request2 = [...request1, 'cache-control', 'no-cache'];
  const request3 = [
    ':method',
    'GET',
    ':scheme',
    'https',
    ':path',
    '/index.html',
    ':authority',
    'www.example.com',
    'custom-key',
    'custom-value',
  ];
  const requestTables = [
    [':authority', 'www.example.com'],
    ['cache-control', 'no-cache', ':authority', 'www.example.com'],
    ['custom-key', 'custom-value', 'cache-control', 'no-cache', ':authority', 'www.example.com'],
  ];

  it('C.3 requests without Huffman coding', () => {
    runSeries(4096, [
      {
        block: '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
        headers: request1,
        table: requestTables[0]!,
        size: 57,
      },
      { block: '8286 84be 5808 6e6f 2d63 6163 6865', headers: request2, table: requestTables[1]!, size: 110 },
      {
        block: '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
        headers: request3,
        table: requestTables[2]!,
        size: 164,
      },
    ]);
  });

  it('C.4 requests with Huffman coding', () => {
    runSeries(4096, [
      {
        block: '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
        headers: request1,
        table: requestTables[0]!,
        size: 57,
      },
      { block: '8286 84be 5886 a8eb 1064 9cbf', headers: request2, table: requestTables[1]!, size: 110 },
      {
        block: '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
        headers: request3,
        table: requestTables[2]!,
        size: 164,
      },
    ]);
  });

  const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
  const date2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
  const location = 'https://www.example.com';
  const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
  const response1 = [':status', '302', 'cache-control', 'private', 'date', date1, 'location', location];
  const response2 = [':status', '307', 'cache-control', 'private', 'date', date1, 'location', location];
  const response3 = [
    ':status',
    '200',
    'cache-control',
    'private',
    'date',
    date2,
    'location',
    location,
    'content-encoding',
    'gzip',
    'set-cookie',
    cookie,
  ];
  const responseTables = [
    ['location', location, 'date', date1, 'cache-control', 'private', ':status', '302'],
    [':status', '307', 'location', location, 'date', date1, 'cache-control', 'private'],
    ['set-cookie', cookie, 'content-encoding', 'gzip', 'date', date2],
  ];

  it('C.5 responses without Huffman coding, evicting from a 256-octet table', () => {
    runSeries(256, [
      {
        block: `4803 3330 3258 0770 7269 7661 7465 611d
                4d6f 6e2c 2032 3120 4f63 7420 3230 3133
                2032 303a 3133 3a32 3120 474d 546e 1768
                7474 7073 3a2f 2f77 7777 2e65 7861 6d70
                6c65 2e63 6f6d`,
        headers: response1,
        table: responseTables[0]!,
        size: 222,
      },
      { block: '4803 3330 37c1 c0bf', headers: response2, table: responseTables[1]!, size: 222 },
      {
        block: `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420
                3230 3133 2032 303a 3133 3a32 3220 474d
                54c0 5a04 677a 6970 7738 666f 6f3d 4153
                444a 4b48 514b 425a 584f 5157 454f 5049
                5541 5851 5745 4f49 553b 206d 6178 2d61
                6765 3d33 3630 303b 2076 6572 7369 6f6e
                3d31`,
        headers: response3,
        table: responseTables[2]!,
        size: 215,
      },
    ]);
  });

  it('C.6 responses with Huffman coding, evicting from a 256-octet table', () => {
    runSeries(256, [
      {
        block: `4882 6402 5885 aec3 771a 4b61 96d0 7abe
                9410 54d4 44a8 2005 9504 0b81 66e0 82a6
                2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8
                e9ae 82ae 43d3`,
        headers: response1,
        table: responseTables[0]!,
        size: 222,
      },
      { block: '4883 640e ffc1 c0bf', headers: response2, table: responseTables[1]!, size: 222 },
      {
        block: `88c1 6196 d07a be94 1054 d444 a820 0595
                040b 8166 e084 a62d 1bff c05a 839b d9ab
                77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b
                3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
                9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
        headers: response3,
        table: responseTables[2]!,
        size: 215,
      },
    ]);
  });
});

describe('Huffman code', () => {
  // The strings of C.4 and C.6.
  it.each([
    ['www.example.com', 'f1e3 c2e5 f23a 6ba0 ab90 f4ff'],
    ['no-cache', 'a8eb 1064 9cbf'],
    ['custom-key', '25a8 49e9 5ba9 7d7f'],
    ['custom-value', '25a8 49e9 5bb8 e8b4 bf'],
    ['302', '6402'],
    ['307', '640e ff'],
    ['private', 'aec3 771a 4b'],
    ['Mon, 21 Oct 2013 20:13:21 GMT', 'd07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff'],
    ['https://www.example.com', '9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3'],
    ['gzip', '9bd9 ab'],
    [
      'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1',
      '94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
    ],
  ])('%j <-> %s', (text, encoded) => {
    const bytes = hex(encoded);
    expect(huffmanDecode(bytes, 0, bytes.length)).toBe(text);
    expect(huffmanEncodedLength(text)).toBe(bytes.length);
    const out = Buffer.alloc(bytes.length);
    expect(huffmanEncode(text, out, 0)).toBe(bytes.length);
    expect(toHex(out)).toBe(toHex(bytes));
  });

  it('round-trips every octet value, alone and in random strings', () => {
    const rand = lcg(7);
    const texts: string[] = [''];
    for (let c = 0; c < 256; c++) texts.push(String.fromCharCode(c));
    for (let i = 0; i < 500; i++) {
      let s = '';
      const len = rand(60);
      for (let j = 0; j < len; j++) s += String.fromCharCode(rand(256));
      texts.push(s);
    }
    for (const text of texts) {
      const buf = Buffer.alloc(huffmanEncodedLength(text) + 2);
      const end = huffmanEncode(text, buf, 1);
      expect(end).toBe(huffmanEncodedLength(text) + 1);
      expect(huffmanDecode(buf, 1, end)).toBe(text);
    }
  });

  it.each([
    // 'a' is 00011: padding must be the top bits of EOS, i.e. ones.
    ['padding with a zero bit', '18'],
    ['padding of 8 bits', 'ff'],
    ['padding longer than 7 bits after a symbol', '1f ff'],
    ['EOS alone', 'ffff ffff'],
    ['EOS after a symbol', '1fff ffff ff'],
    ['EOS followed by a symbol', 'ffff fffc 7f'],
  ])('rejects %s', (_name, encoded) => {
    const bytes = hex(encoded);
    expect(huffmanDecode(bytes, 0, bytes.length)).toBeUndefined();
  });

  it('accepts up to 7 bits of all-ones padding', () => {
    expect(huffmanDecode(hex('1f'), 0, 1)).toBe('a'); // 5 bits + 3 bits padding
    expect(huffmanDecode(hex('07'), 0, 1)).toBe('0'); // '0' is 00000, then 3 bits of padding
    expect(huffmanDecode(hex('0f'), 0, 1)).toBe('1'); // '1' is 00001
    expect(huffmanDecode(hex(''), 0, 0)).toBe('');
  });
});

describe('malformed header blocks', () => {
  it.each([
    ['a truncated integer', 'ff'],
    ['a truncated multi-octet integer', 'ff 80'],
    ['an integer above 2^31 - 1', 'ff ff ff ff ff 0f'],
    ['an integer with too many continuation octets', 'ff 80 80 80 80 80 00'],
    ['index 0', '80'],
    ['an index beyond the static table with an empty dynamic table', 'be'],
    ['a name index beyond the tables', '7e 01 61'],
    ['a missing name literal', '00'],
    ['a missing value literal', '00 01 61'],
    ['a name longer than the block', '00 05 61 62'],
    ['a value longer than the block', '40 01 61 05 61'],
    ['Huffman padding with a zero bit', '00 01 61 81 18'],
    ['Huffman padding longer than 7 bits', '00 01 61 82 1f ff'],
    ['an EOS symbol in a Huffman string', '00 01 61 84 ff ff ff ff'],
    ['a table size update above the maximum', '3f e2 1f'],
    ['a table size update after a header field', '82 20'],
    ['a truncated table size update', '3f'],
  ])('rejects %s', (_name, block) => {
    expectCompressionError(hex(block));
  });

  it('integers stop at 2^31 - 1', () => {
    const buf = Buffer.alloc(8);
    const end = writeInteger(buf, 0, 2 ** 31 - 1, 7);
    expect(decodeInteger(buf.subarray(0, end), 0, 7).value).toBe(2 ** 31 - 1);
    const over = Buffer.alloc(8);
    expect(() => decodeInteger(over.subarray(0, writeInteger(over, 0, 2 ** 31, 7)), 0, 7)).toThrow(
      HpackError,
    );
  });

  it('accepts table size updates up to the maximum, several at the start of a block', () => {
    const d = new HpackDecoder(4096);
    expect(d.decode(hex('40 01 61 01 62'))).toEqual(['a', 'b']);
    // To 0 (evicting everything), then 4096: exactly the maximum.
    expect(d.decode(hex('20 3f e1 1f 82'))).toEqual([':method', 'GET']);
    expect(d.dynamicTableLimit).toBe(4096);
    expect(d.dynamicTableEntries()).toEqual([]);
    expectCompressionError(hex('be'), d);
  });

  it('checks dynamic indices against the current table', () => {
    const d = new HpackDecoder();
    d.decode(hex('40 01 61 01 62'));
    expect(d.decode(hex('be'))).toEqual(['a', 'b']);
    expectCompressionError(hex('bf'), d);
  });

  it('keeps a name that is evicted by the very insertion that references it (RFC 7541 4.4)', () => {
    const d = new HpackDecoder();
    const value = (c: string): string => c.repeat(30);
    // Table of 100 octets holds one 66-octet entry.
    const block = Buffer.concat([
      hex('3f 45'),
      encodeLiteral(0x40, 'aaaa', value('b')),
      Buffer.from([0x40 | 62, 30]),
      Buffer.from(value('c'), 'latin1'),
    ]);
    expect(d.decode(block)).toEqual(['aaaa', value('b'), 'aaaa', value('c')]);
    expect(d.dynamicTableEntries()).toEqual(['aaaa', value('c')]);
    expect(d.dynamicTableSize).toBe(66);
  });

  it('empties the table for an entry larger than the table, and still returns the field', () => {
    const d = new HpackDecoder(4096);
    const block = Buffer.concat([
      hex('3f 21'),
      encodeLiteral(0x40, 'x', 'y'),
      encodeLiteral(0x40, 'big', 'z'.repeat(40)),
    ]);
    expect(d.decode(block)).toEqual(['x', 'y', 'big', 'z'.repeat(40)]);
    expect(d.dynamicTableEntries()).toEqual([]);
    expect(d.dynamicTableSize).toBe(0);
  });

  it('decodes the whole too-large block into the table before throwing', () => {
    // Limit 120: ':method: GET' is 42 octets, 'x-big' 97, 'x-two' 38.
    const d = new HpackDecoder(4096, 120);
    const big = 'v'.repeat(60);
    const block = Buffer.concat([
      hex('82'),
      encodeLiteral(0x40, 'x-big', big),
      encodeLiteral(0x40, 'x-two', 'w'),
    ]);
    expect(hpackErrorOf(() => d.decode(block)).reason).toBe('header-list-too-large');
    expect(d.dynamicTableEntries()).toEqual(['x-two', 'w', 'x-big', big]);
    // Both entries, including the one added after the limit was passed, are where the peer expects them.
    expect(d.decode(hex('bf'))).toEqual(['x-big', big]);
    expect(d.decode(hex('be 82'))).toEqual(['x-two', 'w', ':method', 'GET']);
    // 38 + 97 = 135 > 120 again; the table is untouched by blocks without insertions.
    expect(hpackErrorOf(() => d.decode(hex('be bf'))).reason).toBe('header-list-too-large');
    expect(d.dynamicTableEntries()).toEqual(['x-two', 'w', 'x-big', big]);
  });

  it('reports a compression error rather than the size when a too-large block is also malformed', () => {
    const d = new HpackDecoder(4096, 50);
    const block = Buffer.concat([encodeLiteral(0x00, 'x-big', 'v'.repeat(60)), hex('80')]);
    expect(hpackErrorOf(() => d.decode(block)).reason).toBe('compression');
  });

  it('only ever throws HpackError on random input', () => {
    const rand = lcg(99);
    for (let i = 0; i < 3000; i++) {
      const block = Buffer.alloc(1 + rand(40));
      for (let j = 0; j < block.length; j++) block[j] = rand(256);
      const d = new HpackDecoder(4096, 4096);
      try {
        d.decode(block);
      } catch (err) {
        expect(err).toBeInstanceOf(HpackError);
      }
    }
  });
});

/** One literal representation with a literal (raw) name: `type` is 0x40, 0x10 or 0x00. */
function encodeLiteral(type: number, name: string, value: string): Buffer {
  const buf = Buffer.alloc(name.length + value.length + 13);
  let pos = 0;
  buf[pos++] = type;
  pos = writeInteger(buf, pos, name.length, 7);
  pos += buf.write(name, pos, 'latin1');
  pos = writeInteger(buf, pos, value.length, 7);
  pos += buf.write(value, pos, 'latin1');
  return buf.subarray(0, pos);
}

describe('encodeHeaderBlock', () => {
  it('indexes exact static entries and names static names', () => {
    expect(toHex(encodeHeaderBlock([':status', '200']))).toBe('88');
    expect(toHex(encodeHeaderBlock([':authority', '']))).toBe('81');
    expect(toHex(encodeHeaderBlock(['accept-encoding', 'gzip, deflate']))).toBe('90');
    // ':status' 201 names entry 8 (first ':status'); 4-bit prefix.
    expect(toHex(encodeHeaderBlock([':status', '201']))).toBe('08 03 323031'.replace(/ /g, ''));
    // 'www-authenticate' is entry 61 >= 15: a two-octet index.
    expect(toHex(encodeHeaderBlock(['www-authenticate', 'x']))).toBe('0f2e' + '0178');
    expect(toHex(encodeHeaderBlock(['x-a', 'b']))).toBe('00' + '03782d61' + '0162');
    expect(encodeHeaderBlock([]).length).toBe(0);
    expect(() => encodeHeaderBlock(['lonely'])).toThrow(TypeError);
  });

  it('every static entry round-trips as a one-octet indexed field', () => {
    const flat = STATIC_ENTRIES.flatMap(([n, v]) => [n, v]);
    const block = encodeHeaderBlock(flat);
    expect(block.length).toBe(61);
    expect(new HpackDecoder().decode(block)).toEqual(flat);
  });

  it('round-trips random header lists through HpackDecoder without touching its table', () => {
    const rand = lcg(12345);
    const staticNames = STATIC_ENTRIES.map(([n]) => n);
    const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
    const randomString = (maxLen: number, from: number, to: number): string => {
      let s = '';
      const len = rand(maxLen + 1);
      for (let i = 0; i < len; i++) s += String.fromCharCode(from + rand(to - from + 1));
      return s;
    };
    const d = new HpackDecoder(4096, 1 << 20);
    for (let round = 0; round < 300; round++) {
      const headers: string[] = [];
      const count = rand(40);
      for (let i = 0; i < count; i++) {
        const kind = rand(6);
        if (kind === 0) {
          const [n, v] = pick(STATIC_ENTRIES);
          headers.push(n, v);
        } else if (kind === 1) {
          headers.push(pick(staticNames), randomString(30, 0x20, 0x7e));
        } else if (kind === 2) {
          headers.push(randomString(20, 0x61, 0x7a) || 'x', randomString(300, 0, 0xff));
        } else if (kind === 3) {
          headers.push('x-long-' + i, randomString(5000, 0x20, 0xff));
        } else if (kind === 4) {
          headers.push(randomString(200, 0x21, 0x7e), '');
        } else {
          headers.push(pick(staticNames), '');
        }
      }
      const block = encodeHeaderBlock(headers);
      expect(d.decode(block)).toEqual(headers);
      expect(d.dynamicTableSize).toBe(0);
    }
  });
});

describe('HpackDecoder against a model encoder that uses the dynamic table', () => {
  // A deliberately simple encoder (array table, linear search) with random choices of
  // representation, Huffman and size updates, so eviction is checked against an independent model.
  it('decodes random blocks that index, evict and resize', () => {
    const rand = lcg(4242);
    const maxTableSize = 512;
    const d = new HpackDecoder(maxTableSize, 1 << 20);
    const model: [string, string][] = []; // newest first
    let modelLimit = maxTableSize;
    const sizeOf = (e: readonly [string, string]): number => e[0].length + e[1].length + 32;
    const modelSize = (): number => model.reduce((a, e) => a + sizeOf(e), 0);
    const evict = (target: number): void => {
      while (modelSize() > target) model.pop();
    };
    const names = [
      'x-a',
      'x-b',
      'cookie',
      'content-type',
      ':path',
      'x-very-long-header-name-' + 'n'.repeat(40),
    ];
    const values = [
      '',
      '1',
      'abc',
      'v'.repeat(50),
      'w'.repeat(150),
      'é\u00ff\u0080',
      'text/plain; charset=utf-8',
    ];

    const writeStr = (parts: Buffer[], s: string): void => {
      if (rand(2) === 0) {
        const buf = Buffer.alloc(huffmanEncodedLength(s) + 6);
        const body = Buffer.alloc(huffmanEncodedLength(s));
        huffmanEncode(s, body, 0);
        const end = writeInteger(buf, 0, body.length, 7, 0x80);
        parts.push(buf.subarray(0, end), body);
      } else {
        const buf = Buffer.alloc(6);
        parts.push(buf.subarray(0, writeInteger(buf, 0, s.length, 7)), Buffer.from(s, 'latin1'));
      }
    };

    for (let round = 0; round < 400; round++) {
      const parts: Buffer[] = [];
      const expected: string[] = [];
      for (let u = rand(4) === 0 ? 1 + rand(2) : 0; u > 0; u--) {
        modelLimit = rand(maxTableSize + 1);
        evict(modelLimit);
        const buf = Buffer.alloc(6);
        parts.push(buf.subarray(0, writeInteger(buf, 0, modelLimit, 5, 0x20)));
      }
      for (let f = rand(12); f > 0; f--) {
        const choice = rand(4);
        if (choice === 0 && model.length > 0) {
          const i = rand(model.length);
          const buf = Buffer.alloc(6);
          parts.push(buf.subarray(0, writeInteger(buf, 0, 62 + i, 7, 0x80)));
          expected.push(...model[i]!);
          continue;
        }
        const value = values[rand(values.length)]!;
        let name: string;
        const type = [0x40, 0x00, 0x10][rand(3)]!;
        const prefix = type === 0x40 ? 6 : 4;
        const buf = Buffer.alloc(6);
        if (choice === 1 && model.length > 0) {
          const i = rand(model.length);
          name = model[i]![0];
          parts.push(buf.subarray(0, writeInteger(buf, 0, 62 + i, prefix, type)));
        } else if (choice === 2) {
          const i = rand(61);
          name = STATIC_ENTRIES[i]![0];
          parts.push(buf.subarray(0, writeInteger(buf, 0, i + 1, prefix, type)));
        } else {
          name = names[rand(names.length)]!;
          parts.push(Buffer.from([type]));
          writeStr(parts, name);
        }
        writeStr(parts, value);
        expected.push(name, value);
        if (type === 0x40) {
          const entry: [string, string] = [name, value];
          if (sizeOf(entry) > modelLimit) {
            model.length = 0;
          } else {
            evict(modelLimit - sizeOf(entry));
            model.unshift(entry);
          }
        }
      }
      expect(d.decode(Buffer.concat(parts))).toEqual(expected);
      expect(d.dynamicTableEntries()).toEqual(model.flat());
      expect(d.dynamicTableSize).toBe(modelSize());
      expect(d.dynamicTableLimit).toBe(modelLimit);
    }
  });
});

// ---- Interop with node:http2 over raw frames ----

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_HEADERS = 0x1;
const FRAME_SETTINGS = 0x4;
const FRAME_CONTINUATION = 0x9;
const FLAG_ACK = 0x1;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;

interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

/** Splits a client's byte stream (preface first) into frames. */
function clientFrameReader(onFrame: (frame: Frame) => void): (chunk: Buffer) => void {
  let buf = Buffer.alloc(0);
  let prefaceSeen = false;
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    if (!prefaceSeen) {
      if (buf.length < PREFACE.length) return;
      expect(buf.subarray(0, PREFACE.length).equals(PREFACE)).toBe(true);
      buf = buf.subarray(PREFACE.length);
      prefaceSeen = true;
    }
    while (buf.length >= 9) {
      const length = buf.readUIntBE(0, 3);
      if (buf.length < 9 + length) return;
      onFrame({
        type: buf[3]!,
        flags: buf[4]!,
        streamId: buf.readUInt32BE(5) & 0x7fffffff,
        payload: buf.subarray(9, 9 + length),
      });
      buf = buf.subarray(9 + length);
    }
  };
}

/** Joins HEADERS (minus padding and priority) and CONTINUATION payloads into complete header blocks. */
function headerBlockCollector(onBlock: (streamId: number, block: Buffer) => void): (frame: Frame) => void {
  let pending: { streamId: number; parts: Buffer[] } | undefined;
  return (frame) => {
    if (frame.type === FRAME_HEADERS) {
      expect(pending).toBeUndefined();
      let start = 0;
      let end = frame.payload.length;
      if (frame.flags & FLAG_PADDED) {
        end -= frame.payload[0]!;
        start = 1;
      }
      if (frame.flags & FLAG_PRIORITY) start += 5;
      pending = { streamId: frame.streamId, parts: [frame.payload.subarray(start, end)] };
    } else if (frame.type === FRAME_CONTINUATION) {
      expect(pending?.streamId).toBe(frame.streamId);
      pending!.parts.push(frame.payload);
    } else {
      return;
    }
    if (frame.flags & FLAG_END_HEADERS) {
      onBlock(pending!.streamId, Buffer.concat(pending!.parts));
      pending = undefined;
    }
  };
}

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** A header list as a multimap: name -> values in order, for order-insensitive comparison across names. */
function fieldsOf(flat: readonly string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (let i = 0; i < flat.length; i += 2) {
    const list = m.get(flat[i]!) ?? [];
    list.push(flat[i + 1]!);
    m.set(flat[i]!, list);
  }
  return m;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

const PRINTABLE = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
// nghttp2 drops received fields whose value starts or ends with whitespace (RFC 9113 8.2.1).
const PRINTABLE_INSIDE = `[${PRINTABLE}]`;
const HIGH_OCTETS = Array.from({ length: 0x80 }, (_, i) => String.fromCharCode(0x80 + i)).join('');

describe('interop with node:http2', () => {
  let server: net.Server | undefined;
  let client: http2.ClientHttp2Session | undefined;
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    client?.destroy();
    for (const s of sockets.splice(0)) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = client = undefined;
  });

  it("decodes a node:http2 client's request headers, including its dynamic table and size updates", async () => {
    const decoder = new HpackDecoder(4096, 1 << 20);
    const blocks: { streamId: number; headers: string[]; limit: number; raw: Buffer }[] = [];
    let settingsAcked = false;
    let socket: net.Socket | undefined;
    server = net.createServer((s) => {
      sockets.push(s);
      socket = s;
      const collect = headerBlockCollector((streamId, block) =>
        blocks.push({
          streamId,
          headers: decoder.decode(block),
          limit: decoder.dynamicTableLimit,
          raw: block,
        }),
      );
      s.on(
        'data',
        clientFrameReader((f) => {
          if (f.type === FRAME_SETTINGS && f.flags & FLAG_ACK) settingsAcked = true;
          collect(f);
        }),
      );
    });
    const port = await listen(server);
    const authority = `127.0.0.1:${port}`;
    client = http2.connect(`http://${authority}`);
    client.on('error', () => {});

    const requests: Record<string, string | string[]>[] = [
      { ':path': '/one', 'x-long': 'L'.repeat(3000), 'x-printable': PRINTABLE, 'user-agent': 'hpack-test/1' },
      // The same again: nghttp2 now refers to its dynamic table.
      { ':path': '/one', 'x-long': 'L'.repeat(3000), 'x-printable': PRINTABLE, 'user-agent': 'hpack-test/1' },
      {
        ':path': '/two',
        ':method': 'POST',
        'content-type': 'application/grpc',
        te: 'trailers',
        'x-high': HIGH_OCTETS,
      },
      Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`x-many-${i}`, `value ${i} `.repeat(i % 7)])),
      {
        ':path': '/three',
        authorization: 'Bearer secret-token',
        cookie: 'a=b',
        'x-multi': ['one', 'two', 'three'],
      },
      { ':path': '/four', 'x-sensitive': 'hidden', [http2.sensitiveHeaders]: ['x-sensitive'] },
      { ':path': '/one', 'x-long': 'L'.repeat(3000), 'x-printable': PRINTABLE, 'user-agent': 'hpack-test/1' },
    ];
    const send = (headers: Record<string, string | string[]>): void => {
      const req = client!.request(headers, { endStream: true });
      req.on('error', () => {});
    };
    const expectBlock = (index: number, sent: Record<string, string | string[]>): void => {
      const got = fieldsOf(blocks[index]!.headers);
      expect(got.get(':method')).toEqual([(sent[':method'] as string | undefined) ?? 'GET']);
      expect(got.get(':scheme')).toEqual(['http']);
      expect(got.get(':authority')).toEqual([authority]);
      for (const [name, value] of Object.entries(sent)) {
        expect(got.get(name)).toEqual(Array.isArray(value) ? value : [value]);
      }
    };

    for (const r of requests) send(r);
    await waitFor(() => blocks.length === requests.length, { description: 'all request header blocks' });
    requests.forEach((r, i) => expectBlock(i, r));
    expect(blocks.map((b) => b.streamId)).toEqual(requests.map((_, i) => 1 + 2 * i));
    // nghttp2 indexed what it sent: the repeated request is a few indexed fields on the wire,
    // which only decode because our table matches the client's.
    expect(blocks[0]!.raw.length).toBeGreaterThan(2000);
    expect(blocks[1]!.raw.length).toBeLessThan(20);
    expect(decoder.dynamicTableSize).toBeGreaterThan(3000);

    // Our server preface: shrink the client's encoder table to 256 octets, then continue.
    socket!.write(
      Buffer.concat([
        frame(FRAME_SETTINGS, 0, 0, Buffer.from([0x00, 0x01, 0x00, 0x00, 0x01, 0x00])),
        frame(FRAME_SETTINGS, FLAG_ACK, 0),
      ]),
    );
    await waitFor(() => settingsAcked, { description: "the client's SETTINGS ACK" });
    const later: Record<string, string>[] = [
      { ':path': '/after', 'x-small': 'abc' },
      { ':path': '/after', 'x-small': 'abc', 'x-printable': PRINTABLE },
    ];
    for (const r of later) send(r);
    await waitFor(() => blocks.length === requests.length + later.length, {
      description: 'the later blocks',
    });
    later.forEach((r, i) => expectBlock(requests.length + i, r));
    // The first block after the SETTINGS starts with a dynamic table size update.
    expect(blocks[requests.length]!.raw[0]! & 0xe0).toBe(0x20);
    expect(blocks[requests.length]!.limit).toBe(256);
    expect(decoder.dynamicTableSize).toBeLessThanOrEqual(256);
  });

  it('has node:http2 decode blocks from encodeHeaderBlock, across CONTINUATION frames', async () => {
    const big = 'q'.repeat(40_000);
    const responses = new Map<number, string[]>([
      [
        1,
        [
          ':status',
          '200',
          'content-type',
          'application/grpc',
          'x-custom',
          'hello',
          'x-printable',
          PRINTABLE_INSIDE,
          'x-high',
          HIGH_OCTETS,
          'set-cookie',
          'a=1',
          'set-cookie',
          'b=2',
          'x-empty',
          '',
          'www-authenticate',
          'Basic',
          'x-long',
          'z'.repeat(300),
        ],
      ],
      [3, [':status', '404', 'x-big', big]],
      [5, [':status', '503', 'grpc-status', '14', 'accept-encoding', 'gzip, deflate']],
    ]);
    server = net.createServer((s) => {
      sockets.push(s);
      s.write(frame(FRAME_SETTINGS, 0, 0));
      const collect = headerBlockCollector((streamId) => {
        const block = encodeHeaderBlock(responses.get(streamId)!);
        // Split at the default SETTINGS_MAX_FRAME_SIZE.
        const max = 16_384;
        const out: Buffer[] = [];
        for (let off = 0; off < block.length || off === 0; off += max) {
          const last = off + max >= block.length;
          const flags = (last ? FLAG_END_HEADERS : 0) | (off === 0 ? FLAG_END_STREAM : 0);
          out.push(
            frame(
              off === 0 ? FRAME_HEADERS : FRAME_CONTINUATION,
              flags,
              streamId,
              block.subarray(off, off + max),
            ),
          );
        }
        s.write(Buffer.concat(out));
      });
      s.on(
        'data',
        clientFrameReader((f) => {
          if (f.type === FRAME_SETTINGS && !(f.flags & FLAG_ACK)) s.write(frame(FRAME_SETTINGS, FLAG_ACK, 0));
          collect(f);
        }),
      );
    });
    const port = await listen(server);
    client = http2.connect(`http://127.0.0.1:${port}`, { settings: { maxHeaderListSize: 1 << 20 } });
    client.on('error', () => {});
    const got = await Promise.all(
      [1, 3, 5].map(
        (streamId) =>
          new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
            const req = client!.request({ ':path': `/${streamId}` }, { endStream: true });
            req.on('response', (headers) => resolve(headers));
            req.on('error', reject);
          }),
      ),
    );
    const [r1, r3, r5] = got;
    expect(r1![':status']).toBe(200);
    expect(r1!['content-type']).toBe('application/grpc');
    expect(r1!['x-custom']).toBe('hello');
    expect(r1!['x-printable']).toBe(PRINTABLE_INSIDE);
    expect(r1!['x-high']).toBe(HIGH_OCTETS);
    expect(r1!['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(r1!['x-empty']).toBe('');
    expect(r1!['www-authenticate']).toBe('Basic');
    expect(r1!['x-long']).toBe('z'.repeat(300));
    expect(r3![':status']).toBe(404);
    expect(r3!['x-big']).toBe(big);
    expect(r5![':status']).toBe(503);
    expect(r5!['grpc-status']).toBe('14');
    expect(r5!['accept-encoding']).toBe('gzip, deflate');
  });
});
