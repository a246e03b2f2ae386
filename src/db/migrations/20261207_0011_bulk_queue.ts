/**
 * The bulk job queue's schedule (src/modules/bulk/repository.ts):
 * - `run_after`: a job is claimed no earlier; it is also how long the job's source has been
 *   waiting (the upload, or the end of the source's previous job), and the longest waiting goes
 *   first. Existing jobs get their creation time.
 * - `lease_until`: while IN_PROGRESS, the worker's claim holds until then (the worker renews it);
 *   past it, the worker is taken for gone and the job is claimed again.
 * - `failing_since`: the first of the transient database failures in a row that put the job back
 *   in the queue; null once it ran without one.
 * Frozen once landed: change the schema with a new migration. Imports nothing from the application.
 */
import { type Kysely, sql } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  await db.schema.alterTable('bulk_jobs').addColumn('run_after', ts).execute();
  await db.schema.alterTable('bulk_jobs').addColumn('lease_until', ts).execute();
  await db.schema.alterTable('bulk_jobs').addColumn('failing_since', ts).execute();
  await db.updateTable('bulk_jobs').set({ run_after: sql`created` }).execute();
  await db.schema.createIndex('bulk_jobs_queue_idx').on('bulk_jobs').columns(['status', 'run_after', 'seq']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('bulk_jobs_queue_idx').execute();
  for (const column of ['failing_since', 'lease_until', 'run_after']) await db.schema.alterTable('bulk_jobs').dropColumn(column).execute();
}
