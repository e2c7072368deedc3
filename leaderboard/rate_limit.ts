/**
 * A per-key sliding-window rate limiter, in memory (it holds no state worth persisting: a restart simply
 * forgets recent requests).
 *
 * @module
 */

/** A rate limiter. */
export interface RateLimiter {
  /**
   * Counts one request for `key`. Returns null when allowed, else the seconds until the next request
   * would be allowed.
   */
  take(key: string): number | null;
}

/** At most `limit` requests per `windowMs` per key. `now` is injectable for tests. */
export function createRateLimiter(
  limit: number,
  windowMs: number,
  now: () => number = Date.now,
): RateLimiter {
  const hits = new Map<string, number[]>();
  return {
    take(key) {
      const t = now();
      const recent = (hits.get(key) ?? []).filter((h) => t - h < windowMs);
      if (recent.length >= limit) {
        hits.set(key, recent);
        return Math.max(1, Math.ceil((recent[0] + windowMs - t) / 1000));
      }
      recent.push(t);
      hits.set(key, recent);
      return null;
    },
  };
}
