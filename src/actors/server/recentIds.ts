/**
 * The last `limit` connectIDs an agent tunnel has finished with, so that stray DATA for one of them is
 * dropped quietly instead of being answered again. Oldest out first, in constant time: a Set alone, emptied
 * from its front through its iterator, walks the holes its deletions leave (V8's ordered hash tables keep
 * them until a rehash), about 3 µs a dial under the profiler with 4,096 remembered.
 */
import { Ring } from '../../ring';

export class RecentIds {
  private readonly known = new Set<bigint>();
  /** Arrival order: what the ring overwrites is the oldest, forgotten. */
  private readonly order: Ring<bigint>;

  constructor(limit: number) {
    this.order = new Ring(limit);
  }

  has(id: bigint): boolean {
    return this.known.has(id);
  }

  add(id: bigint): void {
    if (this.known.has(id)) return;
    this.known.add(id);
    const oldest = this.order.push(id);
    if (oldest !== undefined) this.known.delete(oldest);
  }

  get size(): number {
    return this.known.size;
  }
}
