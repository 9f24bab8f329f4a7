export interface Entry<T> {
  seq: number;
  value: T;
}

/**
 * FIFO of at most `capacity` entries; pushing onto a full one evicts the oldest. Entries carry increasing sequence
 * numbers, so a batch read with peek() can be acknowledged later even if some of it was evicted meanwhile.
 */
export class RingBuffer<T> {
  private readonly slots: (Entry<T> | undefined)[];
  private head = 0;
  private count = 0;
  private nextSeq = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.slots = new Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  /** Returns true if the oldest entry was evicted to make room. */
  push(value: T): boolean {
    const evicted = this.count === this.capacity;
    if (evicted) this.removeHead();
    this.slots[(this.head + this.count) % this.capacity] = { seq: this.nextSeq++, value };
    this.count++;
    return evicted;
  }

  /** The oldest `n` entries (fewer if there are fewer), left in place. */
  peek(n: number): Entry<T>[] {
    const out: Entry<T>[] = [];
    for (let i = 0; i < Math.min(n, this.count); i++) out.push(this.slots[(this.head + i) % this.capacity]!);
    return out;
  }

  /** Removes the entries up to and including sequence number `seq`; returns how many were still there. */
  removeThrough(seq: number): number {
    let removed = 0;
    while (this.count > 0 && this.slots[this.head]!.seq <= seq) {
      this.removeHead();
      removed++;
    }
    return removed;
  }

  clear(): number {
    const n = this.count;
    this.slots.fill(undefined);
    this.head = 0;
    this.count = 0;
    return n;
  }

  private removeHead(): void {
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
  }
}
