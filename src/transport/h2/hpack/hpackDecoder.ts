/**
 * HPACK (RFC 7541) header block decoder for the server side of an HTTP/2 connection: one
 * HpackDecoder per connection holds the dynamic table the peer's encoder builds up.
 */
import { huffmanDecode } from './huffman';
import { STATIC_NAMES, STATIC_TABLE_LENGTH, STATIC_VALUES } from './staticTable';

export type HpackErrorReason = 'compression' | 'header-list-too-large';

/**
 * 'compression' is a connection error (COMPRESSION_ERROR): the dynamic table may be out of sync
 * with the peer's, so the decoder must not be used again. 'header-list-too-large' leaves the
 * decoder consistent: only the stream needs resetting.
 */
export class HpackError extends Error {
  override readonly name = 'HpackError';
  constructor(
    readonly reason: HpackErrorReason,
    message: string,
  ) {
    super(message);
  }
}

function compressionError(message: string): HpackError {
  return new HpackError('compression', message);
}

const MAX_INTEGER = 0x7fffffff;

// readInteger/readString return their result and leave the position after it here, so the hot
// path needs no result objects. Safe because decoding is synchronous.
let nextPos = 0;

/**
 * Reads an HPACK integer (RFC 7541 5.1) with an N-bit prefix from buf[pos]. Returns -1 when it is
 * truncated before end or exceeds 2^31 - 1; otherwise the value, with nextPos after it.
 */
function readInteger(buf: Uint8Array, pos: number, end: number, prefixBits: number): number {
  if (pos >= end) return -1;
  const prefixMax = (1 << prefixBits) - 1;
  let value = buf[pos++]! & prefixMax;
  if (value === prefixMax) {
    let multiplier = 1;
    for (;;) {
      if (pos >= end) return -1;
      const b = buf[pos++]!;
      // Multiplication, not shifts: the sum may pass 2^31 before we catch it.
      value += (b & 0x7f) * multiplier;
      if (value > MAX_INTEGER) return -1;
      if ((b & 0x80) === 0) break;
      multiplier *= 128;
      // Bounds runs of zero continuation octets, which never overflow but could go on forever.
      if (multiplier > 2 ** 28) return -1;
    }
  }
  nextPos = pos;
  return value;
}

/** Reads a string literal (RFC 7541 5.2) at buf[pos]; undefined when malformed, else nextPos is after it. */
function readString(buf: Buffer, pos: number, end: number): string | undefined {
  if (pos >= end) return undefined;
  const huffman = (buf[pos]! & 0x80) !== 0;
  const length = readInteger(buf, pos, end, 7);
  if (length < 0) return undefined;
  const start = nextPos;
  const stop = start + length;
  if (stop > end) return undefined;
  const s = huffman ? huffmanDecode(buf, start, stop) : buf.toString('latin1', start, stop);
  nextPos = stop;
  return s;
}

/** RFC 7541 C.1 helper: decodes one integer with an N-bit prefix (1..8), throwing HpackError('compression'). */
export function decodeInteger(
  buf: Uint8Array,
  pos: number,
  prefixBits: number,
): { value: number; next: number } {
  const value = readInteger(buf, pos, buf.length, prefixBits);
  if (value < 0) throw compressionError('truncated or oversized integer');
  return { value, next: nextPos };
}

const ENTRY_OVERHEAD = 32;

/** Short strings a table may share with every other connection's: at most this many, of at most SHARED_LENGTH. */
const SHARED_MAX = 1024;
const SHARED_LENGTH = 96;
const sharedStrings = new Map<string, string>();

/**
 * The one copy of a short string that tables hold: every client indexes the same handful of fields
 * (user-agent, :authority, grpc-accept-encoding...), and a frontend holds a connection per tunnel, each
 * with its own table. Bounded: once full, new strings are kept as they are.
 */
function shared(s: string): string {
  if (s.length > SHARED_LENGTH) return s;
  const known = sharedStrings.get(s);
  if (known !== undefined) return known;
  if (sharedStrings.size < SHARED_MAX) sharedStrings.set(s, s);
  return s;
}

export class HpackDecoder {
  // The dynamic table as a ring buffer of parallel arrays; newest entry at `head`.
  private names: string[];
  private values: string[];
  private mask: number;
  private head: number;
  private count = 0;
  /** Sum of entry sizes (RFC 7541 4.1), in octets. */
  private size = 0;
  /** Maximum size last set by the peer's dynamic table size update; starts at maxTableSize. */
  private limit: number;

  /**
   * maxTableSize: our SETTINGS_HEADER_TABLE_SIZE (4096 default), the most a peer's size update may
   * ask for. maxHeaderListBytes: limit on the decoded list, counted as the sum of
   * name.length + value.length + 32 (RFC 7540 6.5.2).
   */
  constructor(
    readonly maxTableSize = 4096,
    readonly maxHeaderListBytes = 65536,
  ) {
    if (!Number.isInteger(maxTableSize) || maxTableSize < 0 || maxTableSize > MAX_INTEGER) {
      throw new RangeError(`invalid HPACK table size ${maxTableSize}`);
    }
    if (!(maxHeaderListBytes >= 0)) throw new RangeError(`invalid header list limit ${maxHeaderListBytes}`);
    this.limit = maxTableSize;
    // Small to start: a gRPC client indexes a handful of fields per connection, and a frontend holds a
    // connection per tunnel. The table grows by doubling when a peer indexes more.
    const capacity = 8;
    this.names = new Array<string>(capacity).fill('');
    this.values = new Array<string>(capacity).fill('');
    this.mask = capacity - 1;
    this.head = this.mask;
  }

  /** Current size of the dynamic table in octets (entry = name + value + 32). */
  get dynamicTableSize(): number {
    return this.size;
  }

  /** Current maximum size of the dynamic table, as last set by the peer. */
  get dynamicTableLimit(): number {
    return this.limit;
  }

  /** The dynamic table as a flat [name, value, ...] list, newest first (HPACK index 62 first). For tests and debugging. */
  dynamicTableEntries(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head - i) & this.mask;
      out.push(this.names[slot]!, this.values[slot]!);
    }
    return out;
  }

  /**
   * Decodes one complete header block (HEADERS + CONTINUATION payloads already joined) into a
   * flat [name0, value0, name1, value1, ...] list in wire order, pseudo-headers included.
   * Throws HpackError('compression') on malformed input, after which this decoder is unusable.
   * Throws HpackError('header-list-too-large') when the list exceeds maxHeaderListBytes, but only
   * after decoding the whole block, so the dynamic table stays in step with the peer's.
   */
  decode(block: Buffer): string[] {
    const out: string[] = [];
    const end = block.length;
    let pos = 0;
    let listBytes = 0;
    let fieldSeen = false;
    while (pos < end) {
      const b = block[pos]!;
      let name: string | undefined;
      let value: string | undefined;
      if (b & 0x80) {
        // Indexed header field (6.1).
        const index = readInteger(block, pos, end, 7);
        if (index < 0) throw compressionError('truncated or oversized index');
        pos = nextPos;
        if (index <= STATIC_TABLE_LENGTH) {
          if (index === 0) throw compressionError('header field index 0');
          name = STATIC_NAMES[index - 1]!;
          value = STATIC_VALUES[index - 1]!;
        } else {
          const slot = this.slotOf(index);
          name = this.names[slot]!;
          value = this.values[slot]!;
        }
      } else if ((b & 0xe0) === 0x20) {
        // Dynamic table size update (6.3): only before the first field of a block.
        if (fieldSeen) throw compressionError('dynamic table size update after a header field');
        const newLimit = readInteger(block, pos, end, 5);
        if (newLimit < 0) throw compressionError('truncated or oversized table size update');
        if (newLimit > this.maxTableSize) {
          throw compressionError(`dynamic table size update to ${newLimit} exceeds ${this.maxTableSize}`);
        }
        pos = nextPos;
        this.limit = newLimit;
        this.evictTo(newLimit);
        continue;
      } else {
        // Literals (6.2): 01 incremental indexing (6-bit index), 0000 without / 0001 never indexed (4-bit).
        const indexing = (b & 0x40) !== 0;
        const index = readInteger(block, pos, end, indexing ? 6 : 4);
        if (index < 0) throw compressionError('truncated or oversized name index');
        if (index === 0) {
          name = readString(block, nextPos, end);
          if (name === undefined) throw compressionError('malformed header name literal');
        } else {
          name = this.nameAt(index);
        }
        value = readString(block, nextPos, end);
        if (value === undefined) throw compressionError('malformed header value literal');
        pos = nextPos;
        if (indexing) this.insert(name, value);
      }
      fieldSeen = true;
      // Once over the limit keep decoding (for the table) but stop collecting.
      if (listBytes <= this.maxHeaderListBytes) {
        listBytes += name.length + value.length + ENTRY_OVERHEAD;
        if (listBytes <= this.maxHeaderListBytes) out.push(name, value);
      }
    }
    if (listBytes > this.maxHeaderListBytes) {
      throw new HpackError('header-list-too-large', `header list exceeds ${this.maxHeaderListBytes} octets`);
    }
    return out;
  }

  private nameAt(index: number): string {
    if (index === 0) throw compressionError('header field index 0');
    if (index <= STATIC_TABLE_LENGTH) return STATIC_NAMES[index - 1]!;
    return this.names[this.slotOf(index)]!;
  }

  private slotOf(index: number): number {
    const i = index - STATIC_TABLE_LENGTH - 1;
    if (i >= this.count) throw compressionError(`header field index ${index} beyond the tables`);
    return (this.head - i) & this.mask;
  }

  /** Adds an entry (RFC 7541 4.4): evicts first; an entry larger than the table empties it. */
  private insert(name: string, value: string): void {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    if (entrySize > this.limit) {
      this.evictTo(0);
      return;
    }
    this.evictTo(this.limit - entrySize);
    if (this.count === this.names.length) this.grow();
    this.head = (this.head + 1) & this.mask;
    this.names[this.head] = shared(name);
    this.values[this.head] = shared(value);
    this.count++;
    this.size += entrySize;
  }

  /** Evicts oldest entries until size <= target. */
  private evictTo(target: number): void {
    while (this.size > target) {
      const slot = (this.head - this.count + 1) & this.mask;
      this.size -= this.names[slot]!.length + this.values[slot]!.length + ENTRY_OVERHEAD;
      // Drop the references so evicted strings can be collected.
      this.names[slot] = '';
      this.values[slot] = '';
      this.count--;
    }
  }

  private grow(): void {
    const capacity = this.names.length * 2;
    const names = new Array<string>(capacity).fill('');
    const values = new Array<string>(capacity).fill('');
    // Re-lay oldest..newest at 0..count-1.
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head - this.count + 1 + i) & this.mask;
      names[i] = this.names[slot]!;
      values[i] = this.values[slot]!;
    }
    this.names = names;
    this.values = values;
    this.mask = capacity - 1;
    this.head = this.count - 1;
  }
}
