/**
 * A fixed set of equally sized pixel buffers. `acquire` never allocates beyond `capacity`; when every buffer is
 * out it returns undefined and the caller waits for `whenAvailable`. This is the decoder's backpressure: a slow
 * consumer holds buffers, and the decoder cannot read the next frame until one comes back.
 */
export class FramePool {
  private readonly free: Uint8Array[] = [];
  private allocated = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(
    readonly capacity: number,
    readonly byteLength: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`pool capacity must be >= 1, got ${capacity}`);
  }

  /** Buffers currently lent out. */
  get inUse(): number {
    return this.allocated - this.free.length;
  }

  acquire(): Uint8Array | undefined {
    const reused = this.free.pop();
    if (reused) return reused;
    if (this.allocated >= this.capacity) return undefined;
    this.allocated += 1;
    return new Uint8Array(this.byteLength);
  }

  release(buffer: Uint8Array): void {
    if (buffer.byteLength !== this.byteLength) throw new RangeError('buffer does not belong to this pool');
    this.free.push(buffer);
    const waiter = this.waiters.shift();
    if (waiter) waiter();
  }

  /** Calls `callback` once, the next time a buffer is released. */
  whenAvailable(callback: () => void): void {
    this.waiters.push(callback);
  }
}
