/**
 * One-time passwords and single sign-on for people signing in (docs/security.md, "Console sign-in"):
 * - `identity_totp`: an identity's TOTP secret, sealed under the key-encryption key: `secret` the
 *   confirmed one (null until the first enrolment is confirmed), `pending` one being enrolled;
 *   `last_step` the time step of the last code taken (a code is taken once);
 * - `sessions.method`: how a session was signed in, `password` or `oidc`.
 * Frozen once landed: change the schema with a new migration. Imports nothing from the application.
 */
import type { Kysely } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';

  await db.schema
    .createTable('identity_totp')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('identity_id', 'text', (c) => c.notNull())
    .addColumn('secret', 'text')
    .addColumn('pending', 'text')
    .addColumn('last_step', 'integer')
    .addColumn('enrolled', ts)
    .addColumn('modified', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('identity_totp_pkey', ['tenant_id', 'identity_id'])
    .addForeignKeyConstraint('identity_totp_identity_fkey', ['tenant_id', 'identity_id'], 'identities', ['tenant_id', 'id'], (fk) => fk.onDelete('cascade'))
    .execute();

  await db.schema
    .alterTable('sessions')
    .addColumn('method', 'text', (c) => c.notNull().defaultTo('password'))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('method').execute();
  await db.schema.dropTable('identity_totp').execute();
}
