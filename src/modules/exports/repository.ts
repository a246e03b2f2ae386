/**
 * All SQL of scheduled exports: the claim of a schedule's tick and its lease, the sources of a
 * tick that are done, the tick's end, old claims removed. Each claim, renewal and release is one
 * statement, so two processes never both hold a tick: PostgreSQL re-reads a row another
 * transaction just updated before updating it, and SQLite writes one statement at a time.
 */
import type { Exec } from '../../db/dialect.js';

export class ExportRepository {
  /**
   * Claims the tick `tick` for `by` until `leaseUntil`: true for the one process whose insert
   * wrote the row, or that took over an unfinished tick whose lease had run out (`takeOver`).
   */
  async claim(db: Exec, tick: string, by: string, now: string, leaseUntil: string, maxAttempts: number): Promise<boolean> {
    const result = await db
      .insertInto('export_ticks')
      .values({ tick, claimed_by: by, claimed_at: now, finished_at: null, lease_until: leaseUntil, attempts: 1 })
      .onConflict((oc) => oc.column('tick').doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0) === 1) return true;
    return this.takeOver(db, tick, by, now, leaseUntil, maxAttempts);
  }

  /**
   * Claims the tick `tick` for `by` if it is unfinished, its lease has run out (its process died,
   * stopped or failed) and it was claimed fewer than `maxAttempts` times. A tick no process
   * claimed is not made here.
   */
  async takeOver(db: Exec, tick: string, by: string, now: string, leaseUntil: string, maxAttempts: number): Promise<boolean> {
    const result = await db
      .updateTable('export_ticks')
      .set((eb) => ({ claimed_by: by, claimed_at: now, lease_until: leaseUntil, attempts: eb('attempts', '+', 1) }))
      .where('tick', '=', tick)
      .where('finished_at', 'is', null)
      .where('lease_until', '<=', now)
      .where('attempts', '<', maxAttempts)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Moves the lease of `by`'s claim of `tick` on to `leaseUntil`; false when the claim is no longer its. */
  async renew(db: Exec, tick: string, by: string, leaseUntil: string): Promise<boolean> {
    const result = await db
      .updateTable('export_ticks')
      .set({ lease_until: leaseUntil })
      .where('tick', '=', tick)
      .where('claimed_by', '=', by)
      .where('finished_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Ends `by`'s claim of `tick` now, unfinished: any process may take the tick over. Given back
   * (a stopping process), the claim does not count as an attempt.
   */
  async release(db: Exec, tick: string, by: string, now: string, givenBack: boolean): Promise<void> {
    const mine = db.updateTable('export_ticks').where('tick', '=', tick).where('claimed_by', '=', by).where('finished_at', 'is', null);
    await (givenBack ? mine.set((eb) => ({ lease_until: now, attempts: eb('attempts', '-', 1) })) : mine.set({ lease_until: now })).execute();
  }

  /** Ends the claims of every unfinished tick now: their process is known to be gone (one SQLite server). */
  async releaseAll(db: Exec, now: string): Promise<void> {
    await db.updateTable('export_ticks').set({ lease_until: now }).where('finished_at', 'is', null).execute();
  }

  /** The sources of `tick` that are done. */
  async doneSources(db: Exec, tick: string): Promise<Set<string>> {
    const rows = await db.selectFrom('export_tick_sources').select('source_id').where('tick', '=', tick).execute();
    return new Set(rows.map((r) => r.source_id));
  }

  async sourceDone(db: Exec, tick: string, sourceId: string, now: string): Promise<void> {
    await db
      .insertInto('export_tick_sources')
      .values({ tick, source_id: sourceId, done_at: now })
      .onConflict((oc) => oc.columns(['tick', 'source_id']).doNothing())
      .execute();
  }

  /**
   * Marks `by`'s claim of `tick` finished and removes the notes of its sources (no process takes a
   * finished tick over): in the caller's transaction. False when the claim is no longer its.
   */
  async finish(trx: Exec, tick: string, by: string, now: string): Promise<boolean> {
    const result = await trx
      .updateTable('export_ticks')
      .set({ finished_at: now, lease_until: null })
      .where('tick', '=', tick)
      .where('claimed_by', '=', by)
      .where('finished_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return false;
    await trx.deleteFrom('export_tick_sources').where('tick', '=', tick).execute();
    return true;
  }

  /** Removes the claims of ticks before `before` (ISO 8601), and the notes of their sources. */
  async forget(db: Exec, before: string): Promise<void> {
    await db.deleteFrom('export_tick_sources').where('tick', '<', before).execute();
    await db.deleteFrom('export_ticks').where('tick', '<', before).execute();
  }
}
