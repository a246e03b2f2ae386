/**
 * The per-client rate limit shared by every server process on a PostgreSQL database
 * (docs/operations.md, "Several processes behind HAProxy"): `rate_limits`, one row per key (a
 * client id) with the requests counted in its window and the window's end, in milliseconds since
 * the epoch. On PostgreSQL the table is UNLOGGED: counters need no crash safety, and a statement
 * that writes only unlogged tables commits without waiting for the write-ahead log, so counting a
 * request costs no disk flush (a crash empties the table: every client starts a new window).
 * SQLite gets the table too, and the server counts in memory there: one process owns the file.
 * Frozen once landed: change the schema with a new migration. Imports nothing from the application.
 */
import { type Kysely, sql } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const pg = dialect === 'postgres';
  let table = db.schema
    .createTable('rate_limits')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('hits', 'integer', (c) => c.notNull())
    .addColumn('window_end', pg ? 'bigint' : 'integer', (c) => c.notNull());
  if (pg) table = table.modifyFront(sql`unlogged`);
  await table.execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limits').execute();
}
