/**
 * Records become plain rows again: the server writes their JSON from the response schema.
 * - Drops `records.json` (the generated column of migration 0004) and, on PostgreSQL, the
 *   function `record_json` it was computed with.
 * - PostgreSQL: drops the record cache's fence of migration 0005 (its trigger, functions and
 *   sequences): no writer of `records` waits for another process again.
 * On PostgreSQL dropping a column is a change of the catalog only; the space its values took is
 * given back as rows are rewritten (or at once by `VACUUM FULL records`).
 * Frozen once landed: change the schema with a new migration. Imports nothing from the application.
 */
import { type Kysely, sql } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') {
    await sql`drop trigger if exists records_cache_fence on records`.execute(db);
    await sql`drop function if exists record_cache_fence(), record_cache_release(bigint), record_cache_renew(bigint)`.execute(db);
    await sql`drop sequence if exists record_cache_holder, record_cache_renewed, record_cache_foreign_write`.execute(db);
  }
  await db.schema.alterTable('records').dropColumn('json').execute();
  if (dialect === 'postgres') {
    await sql`drop function record_json(text, text, text, text, text, text, text, text, jsonb, timestamptz, timestamptz, timestamptz, timestamptz)`.execute(db);
  }
}
