/**
 * Bounded concurrency for many small broker requests (one per topic, one per group):
 * sequential is too slow at a thousand, unbounded floods the broker and the socket.
 */

/** Runs `fn` over `items` with at most `limit` in flight; the first failure wins. */
export async function inBatches<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const lane = async () => {
    while (failed === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failed !== undefined) throw failed;
}
