/**
 * A fixed-capacity ring: pushing past capacity overwrites the oldest entry, so memory never grows. Its
 * storage grows with its first `capacity` pushes, not before: a ring that stays nearly empty (an agent
 * tunnel's recently closed connections, most of a large fleet's) costs only what it holds.
 */
export class Ring<T> {
  private readonly items: T[] = [];
  private next = 0;
  private size = 0;

  constructor(readonly capacity: number) {}

  /** Returns the entry it overwrote, once the ring is full. */
  push(item: T): T | undefined {
    const overwritten = this.size === this.capacity ? this.items[this.next] : undefined;
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
    return overwritten;
  }

  get length(): number {
    return this.size;
  }

  /** The newest entry. */
  last(): T | undefined {
    return this.size === 0 ? undefined : this.items[(this.next - 1 + this.capacity) % this.capacity];
  }

  /** Oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    const start = (this.next - this.size + this.capacity) % this.capacity;
    for (let i = 0; i < this.size; i++) out.push(this.items[(start + i) % this.capacity]!);
    return out;
  }

  clear(): void {
    this.items.length = 0;
    this.next = 0;
    this.size = 0;
  }
}
