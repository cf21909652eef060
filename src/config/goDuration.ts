// Go's time.ParseDuration and Duration.String, so that manifests written for the Go binaries
// (`--keepalive-time=1h0m0s`, `--sync-interval=1.5s`) mean exactly the same thing here, and so that
// --help prints defaults the way the reference does. Arithmetic is done in int64 nanoseconds with
// bigint, as Go does, and converted to milliseconds only at the end.

const NS_PER_UNIT: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  '\u00b5s': 1_000n, // U+00B5 micro sign
  '\u03bcs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const NS_PER_MS = 1_000_000;
const NS_PER_SECOND = 1_000_000_000n;
const MAX_MAGNITUDE = 1n << 63n; // Go accumulates in uint64 and allows exactly 2^63 for "-..."
const MAX_INT64 = MAX_MAGNITUDE - 1n;

export class GoDurationError extends Error {
  override readonly name = 'GoDurationError';
}

/** Go's time.quote: ASCII printable runes verbatim, anything else as \x.. bytes. */
function goTimeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0x80 || code < 0x20) {
      for (const byte of Buffer.from(ch, 'utf8')) out += `\\x${byte.toString(16).padStart(2, '0')}`;
    } else {
      if (ch === '"' || ch === '\\') out += '\\';
      out += ch;
    }
  }
  return out + '"';
}

const invalid = (orig: string): GoDurationError =>
  new GoDurationError(`time: invalid duration ${goTimeQuote(orig)}`);

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** Leading fraction digits, Go style: digits past int64 precision are consumed but ignored. */
function leadingFraction(s: string): { f: bigint; scale: number; rest: string } {
  let i = 0;
  let f = 0n;
  let scale = 1;
  let overflow = false;
  for (; i < s.length && isDigit(s[i]); i++) {
    if (overflow) continue;
    if (f > MAX_INT64 / 10n) {
      overflow = true;
      continue;
    }
    const y = f * 10n + BigInt(s.charCodeAt(i) - 48);
    if (y > MAX_MAGNITUDE) {
      overflow = true;
      continue;
    }
    f = y;
    scale *= 10;
  }
  return { f, scale, rest: s.slice(i) };
}

/** Parses a Go duration string into int64 nanoseconds; throws GoDurationError with Go's message. */
export function parseGoDurationNs(input: string): bigint {
  const orig = input;
  let s = input;
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw invalid(orig);

  let total = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || isDigit(s[0]))) throw invalid(orig);
    let i = 0;
    while (i < s.length && isDigit(s[i])) i++;
    const pre = i > 0;
    let v = pre ? BigInt(s.slice(0, i)) : 0n;
    if (v > MAX_MAGNITUDE) throw invalid(orig);
    s = s.slice(i);

    let f = 0n;
    let scale = 1;
    let post = false;
    if (s.startsWith('.')) {
      const before = s.length - 1;
      const frac = leadingFraction(s.slice(1));
      ({ f, scale } = frac);
      s = frac.rest;
      post = before !== s.length;
    }
    if (!pre && !post) throw invalid(orig);

    let u = 0;
    while (u < s.length && s[u] !== '.' && !isDigit(s[u])) u++;
    if (u === 0) throw new GoDurationError(`time: missing unit in duration ${goTimeQuote(orig)}`);
    const unitName = s.slice(0, u);
    s = s.slice(u);
    const unit = NS_PER_UNIT[unitName];
    if (unit === undefined) {
      throw new GoDurationError(
        `time: unknown unit ${goTimeQuote(unitName)} in duration ${goTimeQuote(orig)}`,
      );
    }
    if (v > MAX_MAGNITUDE / unit) throw invalid(orig);
    v *= unit;
    if (f > 0n) {
      // Go does this step in float64, so we do too: same rounding, same result.
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > MAX_MAGNITUDE) throw invalid(orig);
    }
    total += v;
    if (total > MAX_MAGNITUDE) throw invalid(orig);
  }
  if (neg) return -total;
  if (total > MAX_INT64) throw invalid(orig);
  return total;
}

/** Parses a Go duration string into milliseconds (fractional when below 1 ms). */
export function parseGoDuration(input: string): number {
  return Number(parseGoDurationNs(input)) / NS_PER_MS;
}

function fraction(v: bigint, prec: number): string {
  const digits = v.toString().padStart(prec, '0').replace(/0+$/, '');
  return digits === '' ? '' : `.${digits}`;
}

/** Go's Duration.String() for int64 nanoseconds. */
export function formatGoDurationNs(d: bigint): string {
  const neg = d < 0n;
  const u = neg ? -d : d;
  let out: string;
  if (u === 0n) return '0s';
  if (u < NS_PER_SECOND) {
    const [prec, unit] = u < 1_000n ? [0, 'ns'] : u < 1_000_000n ? [3, '\u00b5s'] : [6, 'ms'];
    const p = 10n ** BigInt(prec);
    out = `${u / p}${fraction(u % p, prec)}${unit}`;
  } else {
    const secs = u / NS_PER_SECOND;
    out = `${secs % 60n}${fraction(u % NS_PER_SECOND, 9)}s`;
    const mins = secs / 60n;
    if (mins > 0n) {
      out = `${mins % 60n}m${out}`;
      const hours = mins / 60n;
      if (hours > 0n) out = `${hours}h${out}`;
    }
  }
  return neg ? `-${out}` : out;
}

/** Go's Duration.String() for a millisecond value (rounded to the nearest nanosecond). */
export function formatGoDuration(ms: number): string {
  return formatGoDurationNs(BigInt(Math.round(ms * NS_PER_MS)));
}
