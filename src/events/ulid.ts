/**
 * Monotonic ULIDs (https://github.com/ulid/spec): 48-bit millisecond time + 80 random bits, Crockford
 * base32, 26 characters. They sort lexicographically by creation time, so event ids double as an order
 * key in logs and in the CLI. Clock and randomness are injected so tests are deterministic.
 */
import { randomBytes } from 'node:crypto';

const ENCODING = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const RANDOM_BYTES = 10;
const MAX_TIME = 2 ** 48 - 1;

export type IdGenerator = () => string;

export interface UlidSources {
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** Returns `n` uniformly random bytes. */
  random?: (n: number) => Uint8Array;
}

export const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function monotonicUlid(sources: UlidSources = {}): IdGenerator {
  const now = sources.now ?? Date.now;
  const random = sources.random ?? ((n: number) => randomBytes(n));
  let lastTime = -1;
  let lastRandom = new Uint8Array(RANDOM_BYTES);

  return () => {
    let time = Math.min(Math.max(Math.floor(now()), 0), MAX_TIME);
    if (time > lastTime) {
      lastTime = time;
      lastRandom = Uint8Array.from(random(RANDOM_BYTES).subarray(0, RANDOM_BYTES));
    } else {
      // Same millisecond, or the clock went backwards: keep the last time and count up, so ids stay
      // strictly increasing within this process even across NTP steps.
      time = lastTime;
      if (!increment(lastRandom)) {
        // 2^80 ids in one millisecond cannot happen in practice; borrow the next millisecond anyway.
        lastTime = time = Math.min(time + 1, MAX_TIME);
        lastRandom = new Uint8Array(RANDOM_BYTES);
      }
    }
    return encodeTime(time) + encodeRandom(lastRandom);
  };
}

/** Adds one to a big-endian byte string in place; false on overflow. */
function increment(bytes: Uint8Array): boolean {
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      bytes[i] = bytes[i]! + 1;
      return true;
    }
    bytes[i] = 0;
  }
  return false;
}

function encodeTime(time: number): string {
  let out = '';
  let t = time;
  for (let i = 0; i < TIME_CHARS; i++) {
    out = ENCODING[t % 32]! + out;
    t = Math.floor(t / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  // 80 bits are exactly 16 base32 characters; a bigint keeps the arithmetic exact.
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < 16; i++) {
    out = ENCODING[Number(n & 31n)]! + out;
    n >>= 5n;
  }
  return out;
}

/** The millisecond timestamp a ULID carries. */
export function ulidTime(id: string): number {
  let t = 0;
  for (let i = 0; i < TIME_CHARS; i++) t = t * 32 + ENCODING.indexOf(id[i] ?? '0');
  return t;
}
