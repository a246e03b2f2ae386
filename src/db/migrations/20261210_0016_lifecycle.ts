/**
 * The lifecycle (docs/lifecycle.md):
 * - `lifecycle_policies`: the tenant's policy (`source_id` empty) and each source's overrides, as
 *   JSON text;
 * - `lifecycle_due`: the next thing due of each record (its next reminder, its expiry, its
 *   retention) and of each PENDING approval item (its reminder, its escalation): `basis` is what
 *   the due time derives from (the record's end date, the time the item became PENDING), `due_at`
 *   the time, indexed: the sweep reads what is due through it, never all records;
 * - `lifecycle_done`: what was done, once per target, basis and step (`expire`, `remind:14`…),
 *   written in the transaction that emits its event: a step is never done twice for one basis;
 * - `lifecycle_digests` and `lifecycle_digest_lines`: each person's reminder digest of a day,
 *   mailed once at its `due_at` and then deleted.
 * Frozen once landed: change the schema with a new migration. Imports nothing from the application.
 */
import { type Kysely, sql } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';

  await db.schema
    .createTable('lifecycle_policies')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('source_id', 'text', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('modified', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('lifecycle_policies_pkey', ['tenant_id', 'source_id'])
    .execute();

  await db.schema
    .createTable('lifecycle_due')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('source_id', 'text', (c) => c.notNull())
    .addColumn('basis', 'text', (c) => c.notNull())
    .addColumn('step', 'text', (c) => c.notNull())
    .addColumn('due_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('lifecycle_due_pkey', ['tenant_id', 'kind', 'target_id'])
    .execute();
  await db.schema.createIndex('lifecycle_due_at_idx').on('lifecycle_due').columns(['due_at']).execute();
  await db.schema.createIndex('lifecycle_due_source_idx').on('lifecycle_due').columns(['tenant_id', 'source_id']).execute();

  await db.schema
    .createTable('lifecycle_done')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('basis', 'text', (c) => c.notNull())
    .addColumn('step', 'text', (c) => c.notNull())
    .addColumn('time', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('lifecycle_done_pkey', ['tenant_id', 'kind', 'target_id', 'basis', 'step'])
    .execute();

  await db.schema
    .createTable('lifecycle_digests')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('recipient_id', 'text', (c) => c.notNull())
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('due_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('lifecycle_digests_pkey', ['tenant_id', 'recipient_id', 'day'])
    .execute();
  await db.schema.createIndex('lifecycle_digests_due_idx').on('lifecycle_digests').columns(['due_at']).execute();

  await db.schema
    .createTable('lifecycle_digest_lines')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('recipient_id', 'text', (c) => c.notNull())
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('record_id', 'text', (c) => c.notNull())
    .addColumn('step', 'text', (c) => c.notNull())
    .addColumn('line', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('lifecycle_digest_lines_pkey', ['tenant_id', 'recipient_id', 'day', 'record_id', 'step'])
    .execute();

  // Records written before this migration: planned by the first sweep (step `plan`, due now).
  const now = new Date().toISOString();
  const plan = db
    .selectFrom('records')
    .select((eb) => [
      'tenant_id',
      eb.val('record').as('kind'),
      'id as target_id',
      'source_id',
      eb.val('').as('basis'),
      eb.val('plan').as('step'),
      (dialect === 'postgres' ? sql`cast(${now} as timestamptz)` : sql`${now}`).as('due_at'),
    ]);
  await db.insertInto('lifecycle_due').columns(['tenant_id', 'kind', 'target_id', 'source_id', 'basis', 'step', 'due_at']).expression(plan).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['lifecycle_digest_lines', 'lifecycle_digests', 'lifecycle_done', 'lifecycle_due', 'lifecycle_policies'])
    await db.schema.dropTable(table).execute();
}
