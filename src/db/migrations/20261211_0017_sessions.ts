/**
 * People signing in (docs/security.md, "People: passwords and sessions"):
 * - `identity_passwords`: an identity's password, as a salted scrypt hash (`scrypt$N$r$p$salt$hash`);
 * - `sessions`: the console's sessions, by the SHA-256 of the session id the cookie holds (the id
 *   itself is never stored); `last_seen` for the idle timeout, `created` for the absolute one.
 * Frozen once landed: change the schema with a new migration. Imports nothing from the application.
 */
import type { Kysely } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';

  await db.schema
    .createTable('identity_passwords')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('identity_id', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('modified', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('identity_passwords_pkey', ['tenant_id', 'identity_id'])
    .addForeignKeyConstraint('identity_passwords_identity_fkey', ['tenant_id', 'identity_id'], 'identities', ['tenant_id', 'id'], (fk) =>
      fk.onDelete('cascade'),
    )
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('identity_id', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('created', ts, (c) => c.notNull())
    .addColumn('last_seen', ts, (c) => c.notNull())
    .addForeignKeyConstraint('sessions_identity_fkey', ['tenant_id', 'identity_id'], 'identities', ['tenant_id', 'id'], (fk) => fk.onDelete('cascade'))
    .execute();
  await db.schema.createIndex('sessions_identity_idx').on('sessions').columns(['tenant_id', 'identity_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sessions').execute();
  await db.schema.dropTable('identity_passwords').execute();
}
