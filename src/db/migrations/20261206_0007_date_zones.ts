/**
 * Record and request dates keep the offset the client wrote them with: `start_zone` and
 * `end_zone` (`Z` or `±HH:MM`) beside the instants in `start_date` and `end_date`, which filters
 * and sorters keep comparing. Rows written before keep `Z`: their dates come back in UTC.
 * A constant default makes this a change of the catalog only on PostgreSQL.
 * Frozen once landed: change the schema with a new migration. Imports nothing from the application.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  for (const table of ['records', 'requests']) {
    for (const column of ['start_zone', 'end_zone']) {
      await db.schema
        .alterTable(table)
        .addColumn(column, 'text', (c) => c.notNull().defaultTo(sql`'Z'`))
        .execute();
    }
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['records', 'requests']) {
    for (const column of ['start_zone', 'end_zone']) await db.schema.alterTable(table).dropColumn(column).execute();
  }
}
