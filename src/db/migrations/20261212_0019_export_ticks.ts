/**
 * Scheduled exports (docs/operations.md#scheduled-exports): `export_ticks`, one row per tick of the
 * schedule, claimed by the process that writes that tick's files (an insert that conflicts means
 * another process has it). Frozen once landed: change the schema with a new migration. Imports
 * nothing from the application.
 */
import type { Kysely } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  await db.schema
    .createTable('export_ticks')
    .addColumn('tick', 'text', (c) => c.primaryKey())
    .addColumn('claimed_by', 'text', (c) => c.notNull())
    .addColumn('claimed_at', ts, (c) => c.notNull())
    .addColumn('finished_at', ts)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('export_ticks').execute();
}
