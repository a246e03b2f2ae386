/**
 * Event consumers and webhooks (docs/events.md):
 * - `event_consumers`: each consumer of the event log the database has known, by name, and when
 *   it was first started (its cursors then began at each tenant's head);
 * - `event_cursors`: how far a consumer has read a tenant's chain (`position`, the last `seq` it
 *   consumed); the row is locked while a batch is consumed;
 * - `webhooks`: the endpoints; `secret` and `previous_secret` sealed under the key-encryption key;
 *   `from_seq` the seq of the endpoint's `webhook.created` event (earlier events are not sent to
 *   it); `lease_until`/`claimed_by` while a process delivers to it; `failing_since` the first
 *   failed attempt since the last success;
 * - `webhook_deliveries`: one per endpoint and event, with the body sent on every attempt; `seq`
 *   orders an endpoint's deliveries as their events were committed;
 * - `webhook_attempts`: every attempt of a delivery.
 * No foreign keys: on PostgreSQL a delivery's would take a lock on its endpoint's row at each insert,
 * which the delivery claims lock; deleting an endpoint deletes its deliveries and attempts.
 * Frozen once landed: change the schema with a new migration. Imports nothing from the application.
 */
import { type Kysely, sql } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const pg = dialect === 'postgres';
  const ts = pg ? 'timestamptz' : 'text';
  const seq = pg ? 'bigint' : 'integer';

  await db.schema
    .createTable('event_consumers')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('created', ts, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('event_cursors')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('consumer', 'text', (c) => c.notNull())
    .addColumn('position', seq, (c) => c.notNull())
    .addColumn('modified', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('event_cursors_pkey', ['tenant_id', 'consumer'])
    .execute();

  await db.schema
    .createTable('webhooks')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('disabled_reason', 'text')
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('previous_secret', 'text')
    .addColumn('previous_secret_until', ts)
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('from_seq', seq, (c) => c.notNull())
    .addColumn('failing_since', ts)
    .addColumn('lease_until', ts)
    .addColumn('claimed_by', 'text')
    .addColumn('claimed_at', ts, (c) => c.notNull())
    .addColumn('created', ts, (c) => c.notNull())
    .addColumn('modified', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('webhooks_pkey', ['tenant_id', 'id'])
    .execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('seq', pg ? 'bigserial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('webhook_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', ts, (c) => c.notNull())
    .addColumn('last_attempt_at', ts)
    .addColumn('created', ts, (c) => c.notNull())
    .addUniqueConstraint('webhook_deliveries_id_key', ['tenant_id', 'id'])
    .addCheckConstraint('webhook_deliveries_status_check', sql`status in ('PENDING', 'RETRYING', 'SUCCEEDED', 'FAILED')`)
    .execute();
  // What is due, per endpoint; an endpoint's deliveries, newest first.
  await db.schema
    .createIndex('webhook_deliveries_due_idx')
    .on('webhook_deliveries')
    .columns(['tenant_id', 'webhook_id', 'status', 'next_attempt_at'])
    .execute();
  await db.schema.createIndex('webhook_deliveries_list_idx').on('webhook_deliveries').columns(['tenant_id', 'webhook_id', 'seq']).execute();

  await db.schema
    .createTable('webhook_attempts')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('delivery_id', 'text', (c) => c.notNull())
    .addColumn('number', 'integer', (c) => c.notNull())
    .addColumn('webhook_id', 'text', (c) => c.notNull())
    .addColumn('time', ts, (c) => c.notNull())
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('error', 'text')
    .addColumn('response_body', 'text')
    .addPrimaryKeyConstraint('webhook_attempts_pkey', ['tenant_id', 'delivery_id', 'number'])
    .execute();
  await db.schema.createIndex('webhook_attempts_webhook_idx').on('webhook_attempts').columns(['tenant_id', 'webhook_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['webhook_attempts', 'webhook_deliveries', 'webhooks', 'event_cursors', 'event_consumers']) await db.schema.dropTable(table).execute();
}
