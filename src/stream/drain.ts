/**
 * Runs an engine's generator to its end: `onEvent` sees every event as it is yielded (it may wait, e.g. for the
 * client), and the generator's return value (the engine's summary) is what the returned promise resolves with.
 */
export async function drain<E, S>(
  gen: AsyncGenerator<E, S>,
  onEvent: (event: E) => void | Promise<void>,
): Promise<S> {
  for (;;) {
    const next = await gen.next();
    if (next.done) return next.value;
    await onEvent(next.value);
  }
}
