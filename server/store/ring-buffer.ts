/**
 * A buffer that keeps the last `capacity` items pushed. push() is O(1): once
 * full it overwrites the oldest slot instead of shifting an array. Slots are
 * allocated as items arrive, so a large capacity costs nothing up front.
 */
export class RingBuffer<T> {
  private readonly slots: T[] = [];
  /** Where the next push goes once the buffer is full. */
  private next = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring buffer capacity must be a positive integer, got ${capacity}`);
  }

  get length(): number {
    return this.slots.length;
  }

  push(item: T): void {
    if (this.slots.length < this.capacity) {
      this.slots.push(item);
      return;
    }
    this.slots[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Up to `limit` items, the most recently pushed first. */
  newestFirst(limit = this.slots.length): T[] {
    const size = this.slots.length;
    const count = Math.max(0, Math.min(limit, size));
    // Before the buffer is full `next` is 0 and the newest item is the last slot.
    const newest = (this.next - 1 + size) % size;
    const items = new Array<T>(count);
    for (let i = 0; i < count; i++) items[i] = this.slots[(newest - i + size) % size]!;
    return items;
  }
}
