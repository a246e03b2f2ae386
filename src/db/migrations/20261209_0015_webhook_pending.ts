/**
 * An endpoint's deliveries waiting for their first attempt, in commit order: the worker claims the
 * first of them by this index, however long the endpoint's history of delivered rows grows.
 * Frozen once landed: change the schema with a new migration. Imports nothing from the application.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('webhook_deliveries_pending_idx').on('webhook_deliveries').columns(['tenant_id', 'webhook_id', 'status', 'seq']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('webhook_deliveries_pending_idx').execute();
}
