// Value syntaxes of Go's strconv and pflag, so that a value the reference accepts is accepted here
// and a value it rejects is rejected with the same wording after "invalid argument ... flag: ".

export class InvalidValue extends Error {
  override readonly name = 'InvalidValue';
}

/** strconv.Quote is close enough to JSON quoting for the ASCII values flags carry. */
export const goQuote = (s: string): string => JSON.stringify(s);

const TRUE_WORDS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** strconv.ParseBool. */
export function parseGoBool(s: string): boolean {
  if (TRUE_WORDS.has(s)) return true;
  if (FALSE_WORDS.has(s)) return false;
  throw new InvalidValue(`strconv.ParseBool: parsing ${goQuote(s)}: invalid syntax`);
}

export interface IntSyntax {
  /** 0 = Go's base prefixes (0x, 0o, 0b, leading 0, underscores), as pflag's IntVar uses. */
  readonly base: 0 | 10;
  readonly bits: 32 | 64;
  readonly unsigned: boolean;
}

export const PFLAG_INT: IntSyntax = { base: 0, bits: 64, unsigned: false };

/** Go's underscoreOK: underscores only between digits, or between a base prefix and a digit. */
function underscoreOk(unsigned: string): boolean {
  let saw = '^';
  let i = 0;
  const lower = unsigned.toLowerCase();
  const hex = /^0x/.test(lower);
  if (/^0[box]/.test(lower)) {
    i = 2;
    saw = '0';
  }
  for (; i < lower.length; i++) {
    const c = lower[i] ?? '';
    if ((c >= '0' && c <= '9') || (hex && c >= 'a' && c <= 'f')) {
      saw = '0';
    } else if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
    } else {
      if (saw === '_') return false;
      saw = '!';
    }
  }
  return saw !== '_';
}

/** strconv.ParseInt / ParseUint with the given base and bit size. */
export function parseGoInt(s: string, syntax: IntSyntax = PFLAG_INT): number {
  const fn = syntax.unsigned ? 'strconv.ParseUint' : 'strconv.ParseInt';
  const syntaxError = (): InvalidValue => new InvalidValue(`${fn}: parsing ${goQuote(s)}: invalid syntax`);
  let body = s;
  let neg = false;
  if (!syntax.unsigned && (body.startsWith('+') || body.startsWith('-'))) {
    neg = body.startsWith('-');
    body = body.slice(1);
  }
  if (syntax.base === 0 && !underscoreOk(body)) throw syntaxError();
  let radix = 10;
  if (syntax.base === 0 && body.startsWith('0') && body.length > 1) {
    const p = body[1]?.toLowerCase();
    if (p === 'x' || p === 'o' || p === 'b') {
      radix = p === 'x' ? 16 : p === 'o' ? 8 : 2;
      body = body.slice(2);
    } else {
      radix = 8;
      body = body.slice(1);
    }
  }
  const digits = syntax.base === 0 ? body.replace(/_/g, '') : body;
  const alphabet = '0123456789abcdef'.slice(0, radix);
  if (digits === '' || [...digits.toLowerCase()].some((c) => !alphabet.includes(c))) throw syntaxError();
  let value = 0n;
  for (const c of digits.toLowerCase()) value = value * BigInt(radix) + BigInt(alphabet.indexOf(c));
  if (neg) value = -value;
  const bits = BigInt(syntax.bits);
  const [min, max] = syntax.unsigned
    ? [0n, (1n << bits) - 1n]
    : [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n];
  // Beyond 2^53 a JS number cannot hold the value; reject rather than silently round.
  const safe = BigInt(Number.MAX_SAFE_INTEGER);
  if (value < min || value > max || value > safe || value < -safe) {
    throw new InvalidValue(`${fn}: parsing ${goQuote(s)}: value out of range`);
  }
  return Number(value);
}

const FLOAT32_MAX = 3.4028234663852886e38;

/** strconv.ParseFloat(s, 32) for decimal syntax, Inf and NaN (hex floats are not accepted). */
export function parseGoFloat32(s: string): number {
  const err = (why: string): InvalidValue =>
    new InvalidValue(`strconv.ParseFloat: parsing ${goQuote(s)}: ${why}`);
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(s)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw err('invalid syntax');
  const v = Number(s);
  if (Math.abs(v) > FLOAT32_MAX) throw err('value out of range');
  return Math.fround(v);
}

/**
 * pflag's StringSlice value: one line of CSV. `[]` is pflag's own rendering of an empty list, which
 * harnesses echo back, so it means "empty" here.
 */
export function parseGoStringList(s: string): string[] {
  if (s === '' || s === '[]') return [];
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length)
          throw new InvalidValue(
            `parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`,
          );
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += s[i];
        i++;
      }
      if (i < s.length && s[i] !== ',') {
        throw new InvalidValue(
          `parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`,
        );
      }
    } else {
      const end = s.indexOf(',', i);
      field = end === -1 ? s.slice(i) : s.slice(i, end);
      const quote = field.indexOf('"');
      if (quote !== -1)
        throw new InvalidValue(`parse error on line 1, column ${i + quote + 1}: bare " in non-quoted-field`);
      i = end === -1 ? s.length : end;
    }
    out.push(field);
    if (i >= s.length) return out;
    i++; // the comma
  }
}

/** A TCP port: an int in Go syntax, then 0..65535. */
export function parsePort(s: string): number {
  const n = parseGoInt(s);
  if (n < 0 || n > 65535) throw new InvalidValue(`port ${n} out of range 0-65535`);
  return n;
}
