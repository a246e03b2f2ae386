/**
 * Bulk upload jobs: the uploaded CSV is kept in the job row until the job ends,
 * so a job survives a restart; the rows a failed job rejected are kept in `bulk_job_errors`.
 * Frozen once landed: change the schema with a new migration. Imports nothing from the application.
 */
import { type Kysely, sql } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const pg = dialect === 'postgres';
  const ts = pg ? 'timestamptz' : 'text';

  // `seq` orders jobs by creation, strictly (timestamps can tie); jobs of one source run in this order.
  await db.schema
    .createTable('bulk_jobs')
    .addColumn('seq', pg ? 'bigserial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('source_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('file_name', 'text')
    .addColumn('file_size', 'integer', (c) => c.notNull())
    // The uploaded bytes; cleared when the job ends.
    .addColumn('file', pg ? 'bytea' : 'blob')
    .addColumn('row_count', 'integer', (c) => c.notNull())
    .addColumn('created_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('unchanged_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('failed_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('message', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('claimed_by', 'text')
    .addColumn('created', ts, (c) => c.notNull())
    .addColumn('modified', ts, (c) => c.notNull())
    .addColumn('started', ts)
    .addColumn('finished', ts)
    .addUniqueConstraint('bulk_jobs_id_key', ['tenant_id', 'id'])
    .addForeignKeyConstraint('bulk_jobs_source_fkey', ['tenant_id', 'source_id'], 'sources', ['tenant_id', 'id'], (c) => c.onDelete('cascade'))
    .addCheckConstraint('bulk_jobs_status_check', sql`status in ('PENDING', 'IN_PROGRESS', 'COMPLETED', 'ERROR')`)
    .execute();
  await db.schema.createIndex('bulk_jobs_source_idx').on('bulk_jobs').columns(['tenant_id', 'source_id', 'seq']).execute();
  await db.schema.createIndex('bulk_jobs_status_idx').on('bulk_jobs').columns(['status', 'seq']).execute();

  await db.schema
    .createTable('bulk_job_errors')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    // The CSV line (1 = header); null for a problem of the whole file.
    .addColumn('line', 'integer')
    .addColumn('column_name', 'text')
    .addColumn('value', 'text')
    .addColumn('message', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('bulk_job_errors_pkey', ['tenant_id', 'job_id', 'position'])
    .addForeignKeyConstraint('bulk_job_errors_job_fkey', ['tenant_id', 'job_id'], 'bulk_jobs', ['tenant_id', 'id'], (c) => c.onDelete('cascade'))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('bulk_job_errors').execute();
  await db.schema.dropTable('bulk_jobs').execute();
}
