/**
 * Scheduled exports' claims with a lease (docs/operations.md#scheduled-exports):
 * - `export_ticks.lease_until`: the claim holds until then; the process that works on the tick
 *   moves it on as it writes. A tick unfinished past its lease is taken over by another process.
 *   Claims made before this migration have none, and are never taken over.
 * - `export_ticks.attempts`: the claims of the tick so far (a tick is tried a bounded number of times).
 * - `export_tick_sources`: a row per source of an unfinished tick whose file was written (or
 *   whose export failed, with its `export.failed` event): the process that takes a tick over
 *   exports the others. A finished tick's rows are removed.
 * Frozen once landed: change the schema with a new migration. Imports nothing from the application.
 */
import type { Kysely } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  await db.schema.alterTable('export_ticks').addColumn('lease_until', ts).execute();
  await db.schema
    .alterTable('export_ticks')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema
    .createTable('export_tick_sources')
    .addColumn('tick', 'text', (c) => c.notNull())
    .addColumn('source_id', 'text', (c) => c.notNull())
    .addColumn('done_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('export_tick_sources_pk', ['tick', 'source_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('export_tick_sources').execute();
  await db.schema.alterTable('export_ticks').dropColumn('attempts').execute();
  await db.schema.alterTable('export_ticks').dropColumn('lease_until').execute();
}
