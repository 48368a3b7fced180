/** Bounded concurrency for batches of API writes (bindings, pod creations). */

/** Run fn over items with at most `limit` in flight; collects every error instead of stopping at the first. */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<unknown[]> {
  const errors: unknown[] = [];
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const index = next++;
      try {
        await fn(items[index], index);
      } catch (error) {
        errors.push(error);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return errors;
}

/**
 * forEachLimit over a queue that grows while it runs: when the items run out and a slot frees up,
 * `more()` is asked for the next batch (an empty one ends the run once the work in flight is done).
 * The scheduler's pipeline: pods created while a pass binds are decided as soon as a slot is free,
 * not after the pass, the manager's pause between rounds and the next pass's setup.
 */
export async function forEachPulled<T>(
  first: readonly T[],
  limit: number,
  more: () => Promise<readonly T[]>,
  fn: (item: T) => Promise<void>,
): Promise<unknown[]> {
  const errors: unknown[] = [];
  const running = new Set<Promise<void>>();
  let items = first;
  let next = 0;
  for (;;) {
    while (next < items.length && running.size < Math.max(1, limit)) {
      const task: Promise<void> = fn(items[next++])
        .catch((error: unknown) => void errors.push(error))
        .finally(() => running.delete(task));
      running.add(task);
    }
    if (next < items.length) {
      await Promise.race(running);
      continue;
    }
    // Out of items: wait for a slot (the work in flight may make more), then ask for the next batch.
    if (running.size > 0) await Promise.race(running);
    items = await more();
    next = 0;
    if (items.length === 0 && running.size === 0) return errors;
  }
}
