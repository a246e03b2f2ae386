/**
 * Disabled identities (docs/security.md, "Disabled identities"): `identities.disabled`, 1 when an
 * org admin disabled the identity. A disabled identity's API clients get no token and their tokens
 * are refused, its console sessions are refused, and it cannot sign in.
 * Frozen once landed: change the schema with a new migration. Imports nothing from the application.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('identities')
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('identities').dropColumn('disabled').execute();
}
