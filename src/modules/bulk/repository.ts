/**
 * All SQL of bulk upload jobs (the records they write go through the records module). The queue:
 * - a job is claimed (PENDING, or IN_PROGRESS with no worker holding it, see below) only when no
 *   earlier job of its source is unfinished: jobs of a source run strictly in order;
 * - its worker then holds the job's row locked in the transaction that does the job's work
 *   (`lock`). On PostgreSQL, claims skip rows another transaction holds (FOR UPDATE SKIP LOCKED),
 *   so a job left IN_PROGRESS by a worker that died (its row no longer locked) is claimed again by
 *   any process; on SQLite, the one writer of the file, a job being worked on holds the file's
 *   write lock, so a claim only ever finds jobs a stopped process left behind.
 */
import type { Kysely } from 'kysely';
import type { Dialect, Exec } from '../../db/dialect.js';
import { idSpellings } from '../../domain/ids.js';
import type { BulkJobStatus, Database } from '../../db/types.js';
import { type BulkJob, JOB_COLUMNS, type JobOutcome, type NewJob, type RowError, toJob } from './model.js';

const UNFINISHED: BulkJobStatus[] = ['PENDING', 'IN_PROGRESS'];
const ERROR_CHUNK = 500;

export class BulkRepository {
  constructor(private readonly dialect: Dialect) {}

  async insert(db: Exec, tenantId: string, job: NewJob): Promise<BulkJob> {
    const row = await db
      .insertInto('bulk_jobs')
      .values({
        tenant_id: tenantId,
        id: job.id,
        source_id: job.sourceId,
        status: 'PENDING',
        requested_by: job.requestedBy,
        file_name: job.fileName,
        file_size: job.file.length,
        file: job.file,
        row_count: job.rows,
        created: job.created,
        modified: job.created,
      })
      .returning(JOB_COLUMNS)
      .executeTakeFirstOrThrow();
    return toJob(row);
  }

  async byId(db: Exec, tenantId: string, sourceId: string, id: string): Promise<BulkJob | undefined> {
    const row = await db
      .selectFrom('bulk_jobs')
      .select(JOB_COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('source_id', '=', sourceId)
      .where('id', 'in', idSpellings(id))
      .executeTakeFirst();
    return row && toJob(row);
  }

  /** The source's jobs, newest first. */
  async list(db: Exec, tenantId: string, sourceId: string, limit: number, offset: number): Promise<BulkJob[]> {
    const rows = await db
      .selectFrom('bulk_jobs')
      .select(JOB_COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('source_id', '=', sourceId)
      .orderBy('seq', 'desc')
      .limit(limit)
      .offset(offset)
      .execute();
    return rows.map(toJob);
  }

  async count(db: Exec, tenantId: string, sourceId: string): Promise<number> {
    const row = await db
      .selectFrom('bulk_jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('source_id', '=', sourceId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async errors(db: Exec, tenantId: string, jobId: string): Promise<RowError[]> {
    const rows = await db.selectFrom('bulk_job_errors').selectAll().where('tenant_id', '=', tenantId).where('job_id', '=', jobId).orderBy('position').execute();
    return rows.map((r) => ({ line: r.line === null ? null : Number(r.line), column: r.column_name, value: r.value, message: r.message }));
  }

  async file(db: Exec, seq: number): Promise<Buffer | null> {
    const row = await db.selectFrom('bulk_jobs').select('file').where('seq', '=', seq).executeTakeFirst();
    return row?.file ? Buffer.from(row.file) : null;
  }

  /** Claims the oldest runnable job for `workerId`, counting the attempt; undefined when none is runnable. */
  async claim(db: Kysely<Database>, workerId: string, now: string): Promise<BulkJob | undefined> {
    const candidate = db
      .selectFrom('bulk_jobs as j')
      .select('j.seq')
      .where('j.status', 'in', UNFINISHED)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('bulk_jobs as o')
              .select('o.seq')
              .whereRef('o.tenant_id', '=', 'j.tenant_id')
              .whereRef('o.source_id', '=', 'j.source_id')
              .whereRef('o.seq', '<', 'j.seq')
              .where('o.status', 'in', UNFINISHED),
          ),
        ),
      )
      .orderBy('j.seq')
      .limit(1);
    const row = await db
      .updateTable('bulk_jobs')
      .set((eb) => ({ status: 'IN_PROGRESS', claimed_by: workerId, attempts: eb('attempts', '+', 1), started: now, modified: now }))
      .where('seq', '=', this.dialect.forUpdate(candidate, true))
      .returning(JOB_COLUMNS)
      .executeTakeFirst();
    return row && toJob(row);
  }

  /** Locks the job's row for the transaction, if `workerId` still holds the claim; false when another claimed it since. */
  async lock(trx: Exec, seq: number, workerId: string): Promise<boolean> {
    const query = trx.selectFrom('bulk_jobs').select('seq').where('seq', '=', seq).where('claimed_by', '=', workerId).where('status', '=', 'IN_PROGRESS');
    return (await this.dialect.forUpdate(query).executeTakeFirst()) !== undefined;
  }

  /** Ends the job: its outcome, its errors; the file is dropped. */
  async finish(db: Exec, job: BulkJob, outcome: JobOutcome, now: string): Promise<void> {
    for (let i = 0; i < outcome.errors.length; i += ERROR_CHUNK) {
      await db
        .insertInto('bulk_job_errors')
        .values(
          outcome.errors.slice(i, i + ERROR_CHUNK).map((e, k) => ({
            tenant_id: job.tenantId,
            job_id: job.id,
            position: i + k,
            line: e.line,
            column_name: e.column,
            value: e.value,
            message: e.message,
          })),
        )
        .execute();
    }
    const { counts } = outcome;
    await db
      .updateTable('bulk_jobs')
      .set({
        status: outcome.status,
        created_count: counts.created,
        updated_count: counts.updated,
        unchanged_count: counts.unchanged,
        failed_count: counts.failed,
        error_count: outcome.errorCount,
        message: outcome.message,
        file: null,
        claimed_by: null,
        finished: now,
        modified: now,
      })
      .where('seq', '=', job.seq)
      .execute();
  }

  /** Gives the job back to the queue after an unexpected failure. */
  async release(db: Exec, seq: number, workerId: string, now: string): Promise<void> {
    await db
      .updateTable('bulk_jobs')
      .set({ status: 'PENDING', claimed_by: null, modified: now })
      .where('seq', '=', seq)
      .where('claimed_by', '=', workerId)
      .execute();
  }
}
