/**
 * Holds the next call of a test fake in flight until the test releases it, to reproduce overlapping
 * sends deterministically (no sleeps).
 */
export class CallHold {
  #held: Promise<void> | null = null;

  /** The next `pass()` waits until the returned function is called. */
  next(): () => void {
    let release = () => {};
    this.#held = new Promise<void>((resolve) => {
      release = resolve;
    });
    return release;
  }

  /** Called by the fake at the point where a held call should wait. */
  async pass(): Promise<void> {
    const held = this.#held;
    this.#held = null;
    if (held) await held;
  }
}
