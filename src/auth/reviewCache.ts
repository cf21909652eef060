/**
 * A bounded, least-recently-used map with a per-entry expiry time, for successful token reviews. Keys are
 * SHA-256 digests of tokens (see tokenCacheKey), never tokens, so a heap dump does not hand out
 * credentials. The bound keeps a flood of distinct valid tokens from growing memory without limit.
 */
import { createHash } from 'crypto';
import type { AuthClock } from './clock';

export function tokenCacheKey(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

export class ExpiringLruCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(
    private readonly maxEntries: number,
    private readonly clock: AuthClock,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`cache size must be a positive integer, got ${maxEntries}`);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.clock.now() >= entry.expiresAt) {
      this.entries.delete(key);
      return undefined;
    }
    // Re-insert: Map keeps insertion order, so the first key is always the least recently used.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Stores `value` until `expiresAt` (clock time); an entry already expired is not stored. */
  set(key: string, value: V, expiresAt: number): void {
    if (expiresAt <= this.clock.now()) return;
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt });
  }

  clear(): void {
    this.entries.clear();
  }
}
