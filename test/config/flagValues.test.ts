import {
  InvalidValue,
  parseGoBool,
  parseGoFloat32,
  parseGoInt,
  parseGoStringList,
  parsePort,
} from '../../src/config/flagValues';

describe('parseGoBool (strconv.ParseBool)', () => {
  test.each(['1', 't', 'T', 'TRUE', 'true', 'True'])('accepts %j as true', (s) => {
    expect(parseGoBool(s)).toBe(true);
  });
  test.each(['0', 'f', 'F', 'FALSE', 'false', 'False'])('accepts %j as false', (s) => {
    expect(parseGoBool(s)).toBe(false);
  });
  test.each(['', 'yes', 'on', 'tRUE'])('rejects %j like Go does', (s) => {
    expect(() => parseGoBool(s)).toThrow(`strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`);
  });
});

describe('parseGoInt (strconv.ParseInt with base 0, as pflag IntVar)', () => {
  test.each([
    ['8132', 8132],
    ['-1', -1],
    ['+7', 7],
    ['0', 0],
    ['0x1F', 31],
    ['0o17', 15],
    ['017', 15],
    ['0b101', 5],
    ['1_000', 1000],
    ['0x_1f', 31],
  ])('parses %j as %d', (s, n) => {
    expect(parseGoInt(s)).toBe(n);
  });

  test.each(['', 'abc', '1.5', '08', '1__0', '_1', '1_', ' 1', '0x'])('rejects %j as invalid syntax', (s) => {
    expect(() => parseGoInt(s)).toThrow(`strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`);
  });

  test('rejects values outside int64 (and beyond what a JS number holds exactly) as out of range', () => {
    expect(() => parseGoInt('9223372036854775808')).toThrow('value out of range');
    expect(() => parseGoInt('9007199254740993')).toThrow('value out of range');
  });

  test('base 10 / 32-bit syntax (klog -v) refuses prefixes, underscores and int32 overflow', () => {
    const level = { base: 10, bits: 32, unsigned: false } as const;
    expect(parseGoInt('4', level)).toBe(4);
    expect(() => parseGoInt('0x4', level)).toThrow('invalid syntax');
    expect(() => parseGoInt('1_0', level)).toThrow('invalid syntax');
    expect(() => parseGoInt('2147483648', level)).toThrow('value out of range');
  });

  test('unsigned syntax (klog log_file_max_size) uses ParseUint and refuses signs', () => {
    const u = { base: 0, bits: 64, unsigned: true } as const;
    expect(parseGoInt('1800', u)).toBe(1800);
    expect(() => parseGoInt('-1', u)).toThrow('strconv.ParseUint: parsing "-1": invalid syntax');
  });
});

describe('parseGoFloat32', () => {
  test.each([
    ['0', 0],
    ['5', 5],
    ['2.5', 2.5],
    ['.5', 0.5],
    ['1e2', 100],
    ['-3', -3],
  ])('parses %j', (s, n) => {
    expect(parseGoFloat32(s)).toBe(n);
  });
  test('accepts Inf and NaN spellings like Go', () => {
    expect(parseGoFloat32('+Inf')).toBe(Infinity);
    expect(parseGoFloat32('nan')).toBeNaN();
  });
  test('rejects garbage and float32 overflow', () => {
    expect(() => parseGoFloat32('fast')).toThrow('strconv.ParseFloat: parsing "fast": invalid syntax');
    expect(() => parseGoFloat32('1e39')).toThrow('value out of range');
  });
});

describe('parseGoStringList (pflag StringSlice)', () => {
  test.each([
    ['', []],
    ['[]', []],
    ['a', ['a']],
    ['a,b', ['a', 'b']],
    ['a,,b', ['a', '', 'b']],
    ['"a,b",c', ['a,b', 'c']],
    ['"say ""hi"""', ['say "hi"']],
  ])('parses %j as CSV', (s, list) => {
    expect(parseGoStringList(s)).toEqual(list);
  });
  test('rejects a bare quote inside an unquoted field, as encoding/csv does', () => {
    expect(() => parseGoStringList('a"b')).toThrow(InvalidValue);
    expect(() => parseGoStringList('"open')).toThrow(InvalidValue);
  });
});

describe('parsePort', () => {
  test('accepts 0..65535', () => {
    expect(parsePort('0')).toBe(0);
    expect(parsePort('65535')).toBe(65535);
  });
  test('rejects out-of-range ports and non-numbers', () => {
    expect(() => parsePort('65536')).toThrow('port 65536 out of range 0-65535');
    expect(() => parsePort('-1')).toThrow('port -1 out of range 0-65535');
    expect(() => parsePort('http')).toThrow('invalid syntax');
  });
});
