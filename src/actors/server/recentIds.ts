/**
 * The last `limit` connectIDs an agent tunnel has finished with, so that stray DATA for one of them is
 * dropped quietly instead of being answered again. Oldest out first, in constant time: a Set alone, emptied
 * from its front through its iterator, walks the holes its deletions leave (V8's ordered hash tables keep
 * them until a rehash), about 3 µs a dial under the profiler with 4,096 remembered.
 */
export class RecentIds {
  private readonly known = new Set<bigint>();
  /** Insertion order, as a ring once full: `ring[next]` is the oldest. */
  private readonly ring: bigint[] = [];
  private next = 0;

  constructor(private readonly limit: number) {}

  has(id: bigint): boolean {
    return this.known.has(id);
  }

  add(id: bigint): void {
    if (this.known.has(id)) return;
    this.known.add(id);
    if (this.ring.length < this.limit) {
      this.ring.push(id);
      return;
    }
    this.known.delete(this.ring[this.next]!);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.limit;
  }

  get size(): number {
    return this.known.size;
  }
}
