/**
 * Wraps `fn` so that calls with the same key run at most once per `intervalMs`;
 * the others resolve at once without running. Memory is bounded: the table is
 * cleared when it reaches `maxKeys`.
 */
export function throttleByKey<A extends unknown[]>(
  fn: (...args: A) => Promise<void>,
  keyOf: (...args: A) => string,
  intervalMs: number,
  now: () => number = Date.now,
  maxKeys = 10_000,
): (...args: A) => Promise<void> {
  const last = new Map<string, number>();
  return async (...args: A) => {
    const key = keyOf(...args);
    const t = now();
    const prev = last.get(key);
    if (prev !== undefined && t - prev < intervalMs) return;
    if (last.size >= maxKeys) last.clear();
    last.set(key, t);
    await fn(...args);
  };
}
