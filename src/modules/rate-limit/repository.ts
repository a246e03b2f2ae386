/** All SQL of the shared rate limit: a request counted in its key's window, expired windows removed. */
import { sql } from 'kysely';
import type { Exec } from '../../db/dialect.js';

export interface CountedWindow {
  /** Requests counted in the window, this one included. */
  hits: number;
  /** When the window ends, in milliseconds since the epoch. */
  windowEnd: number;
}

export class RateLimitRepository {
  /**
   * Counts a request of `key` at `now` (ms since the epoch), in one statement: a new key, or one
   * whose window ended, starts a window of `windowMs` with this request; otherwise the count goes
   * up by one. Concurrent requests of a key wait for each other's row lock, so every count is
   * seen once, whichever process counts it.
   */
  async hit(db: Exec, key: string, now: number, windowMs: number): Promise<CountedWindow> {
    const row = await db
      .insertInto('rate_limits')
      .values({ key, hits: 1, window_end: now + windowMs })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          hits: sql<number>`case when rate_limits.window_end <= ${now} then 1 else rate_limits.hits + 1 end`,
          window_end: sql<number>`case when rate_limits.window_end <= ${now} then ${now + windowMs} else rate_limits.window_end end`,
        }),
      )
      .returning(['hits', 'window_end'])
      .executeTakeFirstOrThrow();
    return { hits: Number(row.hits), windowEnd: Number(row.window_end) };
  }

  /** Deletes the windows that ended before `before`; the next request of such a key starts anew. */
  async prune(db: Exec, before: number): Promise<number> {
    const result = await db.deleteFrom('rate_limits').where('window_end', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows ?? 0);
  }
}
