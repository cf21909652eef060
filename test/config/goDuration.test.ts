import {
  GoDurationError,
  formatGoDuration,
  formatGoDurationNs,
  parseGoDuration,
  parseGoDurationNs,
} from '../../src/config/goDuration';

const NS = 1n;
const US = 1_000n;
const MS = 1_000_000n;
const S = 1_000_000_000n;
const M = 60n * S;
const H = 60n * M;
const MAX = (1n << 63n) - 1n;
const MIN = -(1n << 63n);

// Cases from Go's time package tests (parseDurationTests), so we agree with Go bit for bit.
const valid: [string, bigint][] = [
  ['0', 0n],
  ['5s', 5n * S],
  ['30s', 30n * S],
  ['1478s', 1478n * S],
  ['-5s', -5n * S],
  ['+5s', 5n * S],
  ['-0', 0n],
  ['+0', 0n],
  ['5.0s', 5n * S],
  ['5.6s', 5n * S + 600n * MS],
  ['5.s', 5n * S],
  ['.5s', 500n * MS],
  ['1.004s', S + 4n * MS],
  ['100.00100s', 100n * S + MS],
  ['10ns', 10n * NS],
  ['11us', 11n * US],
  ['12\u00b5s', 12n * US],
  ['12\u03bcs', 12n * US],
  ['13ms', 13n * MS],
  ['15m', 15n * M],
  ['16h', 16n * H],
  ['3h30m', 3n * H + 30n * M],
  ['10.5s4m', 4n * M + 10n * S + 500n * MS],
  ['-2m3.4s', -(2n * M + 3n * S + 400n * MS)],
  ['1h2m3s4ms5us6ns', H + 2n * M + 3n * S + 4n * MS + 5n * US + 6n * NS],
  ['39h9m14.425s', 39n * H + 9n * M + 14n * S + 425n * MS],
  ['52763797000ns', 52763797000n],
  ['0.3333333333333333333h', 20n * M],
  ['9007199254740993ns', (1n << 53n) + 1n],
  ['9223372036854775807ns', MAX],
  ['9223372036854775.807us', MAX],
  ['9223372036s854ms775us807ns', MAX],
  ['-9223372036854775808ns', MIN],
  ['-9223372036854775.808us', MIN],
  ['-2562047h47m16.854775808s', MIN],
  ['0.100000000000000000000h', 6n * M],
  ['0.830103483285477580700h', 49n * M + 48n * S + 372539827n],
  ['1h0m0s', H],
];

const invalid: [string, string][] = [
  ['', 'time: invalid duration ""'],
  ['3', 'time: missing unit in duration "3"'],
  ['-', 'time: invalid duration "-"'],
  ['s', 'time: invalid duration "s"'],
  ['.', 'time: invalid duration "."'],
  ['-.', 'time: invalid duration "-."'],
  ['.s', 'time: invalid duration ".s"'],
  ['+.s', 'time: invalid duration "+.s"'],
  ['1d', 'time: unknown unit "d" in duration "1d"'],
  ['1.5x', 'time: unknown unit "x" in duration "1.5x"'],
  ['abc', 'time: invalid duration "abc"'],
  ['1 s', 'time: unknown unit " s" in duration "1 s"'],
  ['5\u00e9', 'time: unknown unit "\\xc3\\xa9" in duration "5\\xc3\\xa9"'],
  ['9223372036854775808ns', 'time: invalid duration "9223372036854775808ns"'],
  ['9223372036854775.808us', 'time: invalid duration "9223372036854775.808us"'],
  ['9223372036854ms775us808ns', 'time: invalid duration "9223372036854ms775us808ns"'],
  ['-9223372036854775809ns', 'time: invalid duration "-9223372036854775809ns"'],
];

describe('parseGoDurationNs (Go time.ParseDuration)', () => {
  test.each(valid)('parses %j to the same nanoseconds as Go', (input, ns) => {
    expect(parseGoDurationNs(input)).toBe(ns);
  });

  test.each(invalid)("rejects %j with Go's error text", (input, message) => {
    expect(() => parseGoDurationNs(input)).toThrow(GoDurationError);
    expect(() => parseGoDurationNs(input)).toThrow(message);
  });
});

describe('parseGoDuration (milliseconds)', () => {
  test.each([
    ['100ms', 100],
    ['1.5h', 5_400_000],
    ['1h0m0s', 3_600_000],
    ['-1s', -1000],
    ['0', 0],
    ['250us', 0.25],
    ['1ns', 0.000001],
  ])('converts %j to %d ms', (input, ms) => {
    expect(parseGoDuration(input)).toBeCloseTo(ms, 9);
  });
});

describe('formatGoDuration (Go Duration.String)', () => {
  // Go's durationTests.
  test.each([
    ['0s', 0n],
    ['1ns', 1n],
    ['1.1\u00b5s', 1100n],
    ['2.2ms', 2200n * US],
    ['3.3s', 3300n * MS],
    ['4m5s', 4n * M + 5n * S],
    ['4m5.001s', 4n * M + 5001n * MS],
    ['5h6m7.001s', 5n * H + 6n * M + 7001n * MS],
    ['8m0.000000001s', 8n * M + 1n],
    ['2562047h47m16.854775807s', MAX],
    ['-2562047h47m16.854775808s', MIN],
  ])('prints %j', (text, ns) => {
    expect(formatGoDurationNs(ns)).toBe(text);
  });

  test.each([
    [3_600_000, '1h0m0s'],
    [1000, '1s'],
    [100, '100ms'],
    [10_000, '10s'],
    [0, '0s'],
    [-1500, '-1.5s'],
  ])('prints %d ms as %j, the way the reference prints flag defaults', (ms, text) => {
    expect(formatGoDuration(ms)).toBe(text);
  });

  test('round-trips through parse for every printed form', () => {
    for (const [, ns] of valid) expect(parseGoDurationNs(formatGoDurationNs(ns))).toBe(ns);
  });
});
