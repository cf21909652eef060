/**
 * A connection's open streams by id. Most connections carry one stream at a time (kube-apiserver opens a
 * connection per gRPC dial), so one stream is held in two fields and a Map is made only for a second: an
 * empty Map's hash table alone is about 150 bytes per idle tunnel.
 */
export class StreamTable<S> {
  private oneId = 0;
  private one: S | undefined;
  private many: Map<number, S> | undefined;

  get size(): number {
    return this.many !== undefined ? this.many.size : this.one !== undefined ? 1 : 0;
  }

  get(id: number): S | undefined {
    if (this.many !== undefined) return this.many.get(id);
    return this.oneId === id ? this.one : undefined;
  }

  set(id: number, stream: S): void {
    if (this.many !== undefined) {
      this.many.set(id, stream);
    } else if (this.one === undefined || this.oneId === id) {
      this.oneId = id;
      this.one = stream;
    } else {
      this.many = new Map([
        [this.oneId, this.one],
        [id, stream],
      ]);
      this.one = undefined;
    }
  }

  delete(id: number): boolean {
    if (this.many !== undefined) return this.many.delete(id);
    if (this.one === undefined || this.oneId !== id) return false;
    this.one = undefined;
    return true;
  }

  /** The streams now, as an array the caller may keep while streams come and go. */
  values(): S[] {
    if (this.many !== undefined) return [...this.many.values()];
    return this.one !== undefined ? [this.one] : [];
  }

  clear(): void {
    this.many = undefined;
    this.one = undefined;
  }
}
