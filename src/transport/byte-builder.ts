const EMPTY = new Uint8Array(0);

/**
 * Bytes copied into one growing buffer. Capacity doubles (capped by `limit`), so appends cost
 * amortized O(1) per byte, and the buffer is at most twice what it holds (exactly its size when it
 * ends at `limit`).
 */
export class ByteBuilder {
  #buffer: Uint8Array = EMPTY;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  /** Bytes allocated (what this builder keeps alive). */
  get capacity(): number {
    return this.#buffer.length;
  }

  /** Copies `bytes` in and returns where they landed (so the caller may unmask them in place). */
  append(bytes: Uint8Array, limit: number): Uint8Array {
    const needed = this.#length + bytes.length;
    if (needed > this.#buffer.length) {
      const grown = new Uint8Array(Math.min(limit, Math.max(needed, this.#buffer.length * 2)));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    const at = this.#buffer.subarray(this.#length, needed);
    at.set(bytes);
    this.#length = needed;
    return at;
  }

  /** The bytes held, and the builder empty again. */
  take(): Uint8Array {
    const out = this.#buffer.subarray(0, this.#length);
    this.#buffer = EMPTY;
    this.#length = 0;
    return out;
  }
}
