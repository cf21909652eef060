/**
 * Monotonic ULIDs (https://github.com/ulid/spec): 48-bit millisecond time + 80 random bits, Crockford
 * base32, 26 characters. They sort lexicographically by creation time, so event ids double as an order
 * key in logs and in the CLI. Clock and randomness are injected so tests are deterministic.
 *
 * Every event gets one, on the dial path of both processes, so the common case is kept cheap: the random
 * bytes come from a pool refilled by one `randomFillSync` per POOL_BYTES (not one call into the kernel per
 * id), the time prefix is encoded once per millisecond, and the encoding uses plain numbers, no bigint.
 */
import { randomFillSync } from 'node:crypto';

const ENCODING = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const RANDOM_BYTES = 10;
const MAX_TIME = 2 ** 48 - 1;
/** 409 ids' worth of randomness per refill: the refill's fixed cost vanishes, the memory does not matter. */
const POOL_BYTES = 4096;

/** `now`, when given, is the caller's clock reading (ms) for this id, so one event reads the clock once. */
export type IdGenerator = (now?: number) => string;

export interface UlidSources {
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** Returns `n` uniformly random bytes. */
  random?: (n: number) => Uint8Array;
}

export const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** Random bytes handed out from a pool; a view is valid until the next call. */
export function pooledRandom(poolBytes = POOL_BYTES): (n: number) => Uint8Array {
  const pool = Buffer.allocUnsafe(poolBytes);
  let offset = poolBytes;
  return (n) => {
    if (n > poolBytes) return randomFillSync(new Uint8Array(n));
    if (offset + n > poolBytes) {
      randomFillSync(pool);
      offset = 0;
    }
    const out = pool.subarray(offset, offset + n);
    offset += n;
    return out;
  };
}

export function monotonicUlid(sources: UlidSources = {}): IdGenerator {
  const clock = sources.now ?? Date.now;
  const random = sources.random ?? pooledRandom();
  let lastTime = -1;
  let timeText = '';
  const lastRandom = new Uint8Array(RANDOM_BYTES);

  return (now = clock()) => {
    let time = Math.min(Math.max(Math.floor(now), 0), MAX_TIME);
    if (time > lastTime) {
      lastTime = time;
      timeText = encodeTime(time);
      lastRandom.set(random(RANDOM_BYTES).subarray(0, RANDOM_BYTES));
    } else {
      // Same millisecond, or the clock went backwards: keep the last time and count up, so ids stay
      // strictly increasing within this process even across NTP steps.
      time = lastTime;
      if (!increment(lastRandom)) {
        // 2^80 ids in one millisecond cannot happen in practice; borrow the next millisecond anyway.
        lastTime = time = Math.min(time + 1, MAX_TIME);
        timeText = encodeTime(time);
        lastRandom.fill(0);
      }
    }
    return timeText + encode40(lastRandom, 0) + encode40(lastRandom, 5);
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

/** Five bytes from `at` as 8 base32 characters: 40 bits stay exact in a double, so two halves make 80. */
function encode40(bytes: Uint8Array, at: number): string {
  // `>>> 0` keeps the low 32 bits unsigned (a byte >= 0x80 shifted by 24 would be negative).
  let n =
    bytes[at]! * 2 ** 32 +
    (((bytes[at + 1]! << 24) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 8) | bytes[at + 4]!) >>> 0);
  let out = '';
  for (let i = 0; i < 8; i++) {
    out = ENCODING[n % 32]! + out;
    n = Math.floor(n / 32);
  }
  return out;
}

/** The millisecond timestamp a ULID carries. */
export function ulidTime(id: string): number {
  let t = 0;
  for (let i = 0; i < TIME_CHARS; i++) t = t * 32 + ENCODING.indexOf(id[i] ?? '0');
  return t;
}
