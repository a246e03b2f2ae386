/**
 * The event log (docs/events.md): `events`, append-only, one hash chain per tenant; and
 * `event_chains`, one row per tenant holding the chain's head (the last seq and hash, which an
 * append locks) and its checkpoint (the seq and hash of the last pruned event, where verifying
 * starts). `data` is text on both engines: the exact text that was hashed.
 * Neither table references `tenants`: on PostgreSQL a foreign key would take a lock on the tenant's
 * row at every append, which other writers of that row (the source counter, the bulk queue) hold.
 * Frozen once landed: change the schema with a new migration. Imports nothing from the application.
 */
import type { Kysely } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  const seq = dialect === 'postgres' ? 'bigint' : 'integer';

  await db.schema
    .createTable('events')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('seq', seq, (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('time', ts, (c) => c.notNull())
    .addColumn('actor_id', 'text')
    .addColumn('actor_alias', 'text')
    .addColumn('target_type', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('source_id', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('events_pkey', ['tenant_id', 'seq'])
    .addUniqueConstraint('events_id_key', ['id'])
    .execute();
  // The audit filters: each with the time after it, the default order.
  await db.schema.createIndex('events_time_idx').on('events').columns(['tenant_id', 'time', 'seq']).execute();
  for (const column of ['type', 'target_id', 'source_id', 'actor_id']) {
    await db.schema.createIndex(`events_${column}_idx`).on('events').columns(['tenant_id', column, 'time']).execute();
  }

  await db.schema
    .createTable('event_chains')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey())
    .addColumn('head_seq', seq, (c) => c.notNull())
    .addColumn('head_hash', 'text', (c) => c.notNull())
    .addColumn('checkpoint_seq', seq, (c) => c.notNull())
    .addColumn('checkpoint_hash', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('event_chains').execute();
  await db.schema.dropTable('events').execute();
}
