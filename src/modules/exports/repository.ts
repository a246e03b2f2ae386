/** All SQL of scheduled exports: the claim of a schedule's tick, its end, old claims removed. */
import type { Exec } from '../../db/dialect.js';

export class ExportRepository {
  /**
   * Claims the tick `tick` for `by`: true for the one process whose insert wrote the row, false
   * for every other (the row was there: another process has the tick).
   */
  async claim(db: Exec, tick: string, by: string, now: string): Promise<boolean> {
    const result = await db
      .insertInto('export_ticks')
      .values({ tick, claimed_by: by, claimed_at: now, finished_at: null })
      .onConflict((oc) => oc.column('tick').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async finish(db: Exec, tick: string, now: string): Promise<void> {
    await db.updateTable('export_ticks').set({ finished_at: now }).where('tick', '=', tick).execute();
  }

  /** Removes the claims of ticks before `before` (ISO 8601): no process claims them again. */
  async forget(db: Exec, before: string): Promise<void> {
    await db.deleteFrom('export_ticks').where('tick', '<', before).execute();
  }
}
