/** Polls until `check` returns a truthy value (or throws after `timeoutMs`). */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 15_000, what = 'condition'): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** What `p` rejects with, or null if it resolves: for a test that expects a failure and then looks at it. */
export const failure = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => null,
    (e: unknown) => e,
  );

const HOUR = 3_600_000;

/**
 * Every budget period (hour, day, ISO week, month, in UTC) turns on a whole UTC hour. A test
 * that reads "the current period" through the wall clock calls this first: if the next whole
 * hour is less than `marginMs` away, it waits until that hour has turned, so no period
 * boundary falls inside the next `marginMs`. @default marginMs 30_000
 */
export async function clearOfPeriodBoundary(marginMs = 30_000): Promise<void> {
  const next = Math.ceil((Date.now() + 1) / HOUR) * HOUR;
  if (next - Date.now() < marginMs) await waitFor(() => Date.now() >= next, marginMs + 5_000, 'the hour to turn');
}
