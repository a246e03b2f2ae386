/**
 * Non-employee requests, their approval items, and the notification outbox. Frozen once landed:
 * change the schema with a new migration. Imports nothing from the application.
 */
import { type Kysely, sql } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  const json = dialect === 'postgres' ? 'jsonb' : 'text';

  await db.schema
    .createTable('requests')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('source_id', 'text', (c) => c.notNull())
    .addColumn('requester_id', 'text', (c) => c.notNull())
    .addColumn('account_name', 'text', (c) => c.notNull())
    .addColumn('first_name', 'text', (c) => c.notNull())
    .addColumn('last_name', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('phone', 'text', (c) => c.notNull())
    .addColumn('manager', 'text', (c) => c.notNull())
    .addColumn('start_date', ts, (c) => c.notNull())
    .addColumn('end_date', ts, (c) => c.notNull())
    .addColumn('data', json, (c) => c.notNull())
    .addColumn('approval_status', 'text', (c) => c.notNull())
    .addColumn('completion_date', ts)
    .addColumn('record_id', 'text')
    .addColumn('created', ts, (c) => c.notNull())
    .addColumn('modified', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('requests_pkey', ['tenant_id', 'id'])
    .addForeignKeyConstraint('requests_source_fkey', ['tenant_id', 'source_id'], 'sources', ['tenant_id', 'id'], (c) => c.onDelete('cascade'))
    .addCheckConstraint('requests_status_check', sql`approval_status in ('PENDING', 'APPROVED', 'REJECTED', 'CANCELLED')`)
    .execute();
  // At most one PENDING request per accountName and source: concurrent creates cannot both pass.
  await db.schema
    .createIndex('requests_pending_account_name_key')
    .on('requests')
    .unique()
    .columns(['tenant_id', 'source_id', 'account_name'])
    .where(sql<boolean>`approval_status = 'PENDING'`)
    .execute();
  await db.schema.createIndex('requests_source_idx').on('requests').columns(['tenant_id', 'source_id', 'created', 'id']).execute();
  await db.schema.createIndex('requests_requester_idx').on('requests').columns(['tenant_id', 'requester_id']).execute();

  await db.schema
    .createTable('approval_items')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('approval_order', 'integer', (c) => c.notNull())
    .addColumn('approver_type', 'text', (c) => c.notNull())
    .addColumn('approver_id', 'text', (c) => c.notNull())
    .addColumn('approval_status', 'text', (c) => c.notNull())
    .addColumn('comment', 'text')
    .addColumn('decided_by', 'text')
    .addColumn('created', ts, (c) => c.notNull())
    .addColumn('modified', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('approval_items_pkey', ['tenant_id', 'id'])
    .addUniqueConstraint('approval_items_order_key', ['tenant_id', 'request_id', 'approval_order'])
    .addForeignKeyConstraint('approval_items_request_fkey', ['tenant_id', 'request_id'], 'requests', ['tenant_id', 'id'], (c) => c.onDelete('cascade'))
    .addCheckConstraint('approval_items_status_check', sql`approval_status in ('PENDING', 'NOT_READY', 'APPROVED', 'REJECTED', 'CANCELLED')`)
    .addCheckConstraint('approval_items_type_check', sql`approver_type in ('IDENTITY', 'GOVERNANCE_GROUP')`)
    .execute();
  await db.schema.createIndex('approval_items_approver_idx').on('approval_items').columns(['tenant_id', 'approver_id', 'approval_status']).execute();

  await db.schema
    .createTable('notifications')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('recipient_id', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text')
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', ts, (c) => c.notNull())
    .addColumn('sent_at', ts)
    .addColumn('last_error', 'text')
    .addColumn('created', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('notifications_pkey', ['tenant_id', 'id'])
    .addCheckConstraint('notifications_status_check', sql`status in ('PENDING', 'SENT', 'UNDELIVERABLE', 'FAILED')`)
    .execute();
  await db.schema.createIndex('notifications_due_idx').on('notifications').columns(['status', 'next_attempt_at']).execute();
  await db.schema.createIndex('notifications_request_idx').on('notifications').columns(['tenant_id', 'request_id']).execute();
}
