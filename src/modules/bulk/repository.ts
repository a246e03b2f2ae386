/**
 * All SQL of bulk upload jobs (the records they write go through the records module). The queue:
 * - a job is claimed (PENDING, or IN_PROGRESS with its worker's lease run out, see below) only
 *   when no earlier job of its source is unfinished: jobs of a source run strictly in order, one
 *   at a time;
 * - among the claimable jobs, the one with the oldest `run_after` goes first: a job's `run_after`
 *   is its upload, moved to the end of its source's previous job when that ends (so a source that
 *   just had a job waits behind the sources that have been waiting longer), or to the time of its
 *   next attempt after a transient failure;
 * - a claim takes a lease (`lease_until`) that the worker renews while it works; a job left
 *   IN_PROGRESS past its lease has lost its worker (the process stopped) and is claimed again;
 * - the worker writes the job's outcome in one transaction that holds the job's row locked and
 *   checks that the claim is still its own. On PostgreSQL, claims skip rows another transaction
 *   holds (FOR UPDATE SKIP LOCKED), so processes sharing a database never claim one job twice.
 * The uploaded file is kept in `bulk_job_parts` until the job ends, FILE_PART bytes a row, written
 * and read one part per statement so that the caller can let the event loop turn between them.
 */
import type { Kysely } from 'kysely';
import type { Dialect, Exec } from '../../db/dialect.js';
import { idSpellings } from '../../domain/ids.js';
import type { BulkJobStatus, Database } from '../../db/types.js';
import { type BulkJob, JOB_COLUMNS, type JobOutcome, type NewJob, type RowError, toJob } from './model.js';

const UNFINISHED: BulkJobStatus[] = ['PENDING', 'IN_PROGRESS'];
/** Records written by a job past which it brings the planner's statistics up to date. */
const ANALYZE_AFTER = 1000;
/** Error lines per INSERT. */
const ERROR_CHUNK = 200;
/**
 * The bytes of a file part (the last one may be shorter; files stored before may have parts of
 * another size). Small enough that one part's INSERT, SELECT or DELETE is a short step.
 */
export const FILE_PART = 256 * 1024;

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
        file_size: job.fileSize,
        row_count: job.rows,
        run_after: job.created,
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

  /**
   * Stores the job's file, given whole or in parts: a part (FILE_PART bytes, the last one
   * shorter) per INSERT; `between` runs between two of them.
   */
  async storeFile(db: Exec, seq: number, file: Buffer | readonly Buffer[], between: () => Promise<void>): Promise<void> {
    const parts = Buffer.isBuffer(file)
      ? Array.from({ length: Math.ceil(file.length / FILE_PART) }, (_, k) => file.subarray(k * FILE_PART, (k + 1) * FILE_PART))
      : file;
    for (const [part, bytes] of parts.entries()) {
      if (part > 0) await between();
      await db.insertInto('bulk_job_parts').values({ job_seq: seq, part, bytes }).execute();
    }
  }

  /**
   * The job's file in its parts, read one per query; `between` runs between two of them. Null
   * when it is not all there (the job ended meanwhile, its parts deleted).
   */
  async file(db: Exec, seq: number, size: number, between: () => Promise<void>): Promise<Buffer[] | null> {
    const parts: Buffer[] = [];
    let read = 0;
    for (let part = 0; read < size; part++) {
      if (part > 0) await between();
      const row = await db.selectFrom('bulk_job_parts').select('bytes').where('job_seq', '=', seq).where('part', '=', part).executeTakeFirst();
      if (!row || read + row.bytes.length > size) return null;
      parts.push(row.bytes);
      read += row.bytes.length;
    }
    return parts;
  }

  /**
   * Locks the tenant's row until the transaction ends: uploads of one tenant check the queue's
   * caps and insert their job one at a time (SQLite's one writer does so anyway).
   */
  async lockTenant(trx: Exec, tenantId: string): Promise<void> {
    await this.dialect.forUpdate(trx.selectFrom('tenants').select('id').where('id', '=', tenantId)).execute();
  }

  /** The unfinished jobs (PENDING, IN_PROGRESS) of the tenant and of one of its sources: how many, and their files' bytes. */
  async pending(db: Exec, tenantId: string, sourceId: string): Promise<{ tenant: QueueLoad; source: QueueLoad }> {
    const rows = await db
      .selectFrom('bulk_jobs')
      .select((eb) => [
        eb.fn.countAll<number>().as('jobs'),
        eb.fn.coalesce(eb.fn.sum<number>('file_size'), eb.lit(0)).as('bytes'),
        eb.fn.sum<number>(eb.case().when('source_id', '=', sourceId).then(1).else(0).end()).as('source_jobs'),
        eb.fn.sum<number>(eb.case().when('source_id', '=', sourceId).then(eb.ref('file_size')).else(0).end()).as('source_bytes'),
      ])
      .where('tenant_id', '=', tenantId)
      .where('status', 'in', UNFINISHED)
      .executeTakeFirstOrThrow();
    return {
      tenant: { jobs: Number(rows.jobs), bytes: Number(rows.bytes) },
      source: { jobs: Number(rows.source_jobs ?? 0), bytes: Number(rows.source_bytes ?? 0) },
    };
  }

  /**
   * Claims the runnable job whose source has waited longest for `workerId` until `leaseUntil`,
   * counting the attempt; undefined when none is runnable.
   */
  async claim(db: Kysely<Database>, workerId: string, now: string, leaseUntil: string): Promise<BulkJob | undefined> {
    const candidate = db
      .selectFrom('bulk_jobs as j')
      .select('j.seq')
      .where(({ eb, and, or }) =>
        or([
          and([eb('j.status', '=', 'PENDING'), eb('j.run_after', '<=', now)]),
          and([eb('j.status', '=', 'IN_PROGRESS'), or([eb('j.lease_until', 'is', null), eb('j.lease_until', '<', now)])]),
        ]),
      )
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
      .orderBy('j.run_after')
      .orderBy('j.seq')
      .limit(1);
    const row = await db
      .updateTable('bulk_jobs')
      .set((eb) => ({
        status: 'IN_PROGRESS',
        claimed_by: workerId,
        lease_until: leaseUntil,
        attempts: eb('attempts', '+', 1),
        started: now,
        modified: now,
      }))
      .where('seq', '=', this.dialect.forUpdate(candidate, true))
      .returning(JOB_COLUMNS)
      .executeTakeFirst();
    return row && toJob(row);
  }

  /** Ends the leases of every job IN_PROGRESS: their workers are known to be gone. */
  async endLeases(db: Exec): Promise<void> {
    await db.updateTable('bulk_jobs').set({ lease_until: null }).where('status', '=', 'IN_PROGRESS').execute();
  }

  /**
   * Ends `workerId`'s claims of the jobs whose transaction has not begun (a stopping process), not
   * counting the attempt: another worker claims them at once. PostgreSQL: rows a job's transaction
   * holds are left alone (SKIP LOCKED); SQLite: this waits for that transaction to commit.
   */
  async giveBack(db: Kysely<Database>, workerId: string): Promise<void> {
    const mine = db.selectFrom('bulk_jobs').select('seq').where('claimed_by', '=', workerId).where('status', '=', 'IN_PROGRESS');
    await db
      .updateTable('bulk_jobs')
      .set((eb) => ({ claimed_by: null, lease_until: null, attempts: eb('attempts', '-', 1) }))
      .where('seq', 'in', this.dialect.forUpdate(mine, true))
      .execute();
  }

  /** Extends the lease of a job `workerId` works on; false when the job is no longer its own. */
  async renew(db: Exec, seq: number, workerId: string, leaseUntil: string): Promise<boolean> {
    const result = await db
      .updateTable('bulk_jobs')
      .set({ lease_until: leaseUntil })
      .where('seq', '=', seq)
      .where('claimed_by', '=', workerId)
      .where('status', '=', 'IN_PROGRESS')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Locks the job's row for the transaction, if `workerId` still holds the claim; false when
   * another claimed it since. The job's transaction writes thousands of rows into tables whose
   * statements' cached plans were made when they held far fewer: its statements are planned for
   * their values (`Dialect.planEachStatement`).
   */
  async lock(trx: Exec, seq: number, workerId: string): Promise<boolean> {
    const query = trx.selectFrom('bulk_jobs').select('seq').where('seq', '=', seq).where('claimed_by', '=', workerId).where('status', '=', 'IN_PROGRESS');
    if ((await this.dialect.forUpdate(query).executeTakeFirst()) === undefined) return false;
    await this.dialect.planEachStatement(trx);
    return true;
  }

  /**
   * Just after the commit of a job that wrote `written` records: past ANALYZE_AFTER, the statistics
   * of the tables it filled (records, their events and planned steps) are brought up to date, so
   * that what reads them next (an export, the event consumers) is planned for their size
   * (`Dialect.analyze`).
   */
  async analyzeWritten(db: Exec, written: number): Promise<void> {
    if (written < ANALYZE_AFTER) return;
    // The columns the reads after an import select on: a source's records, a tenant's events and due steps.
    await this.dialect.analyze(db, 'records', ['tenant_id', 'source_id']);
    await this.dialect.analyze(db, 'events', ['tenant_id']);
    await this.dialect.analyze(db, 'lifecycle_due', ['tenant_id', 'kind']);
  }

  /** Ends the job: its outcome, its errors; the file is dropped, a part per statement; `between` runs between two statements. */
  async finish(db: Exec, job: BulkJob, outcome: JobOutcome, now: string, between: () => Promise<void>): Promise<void> {
    const parts = await db.selectFrom('bulk_job_parts').select('part').where('job_seq', '=', job.seq).orderBy('part').execute();
    for (const { part } of parts) {
      await db.deleteFrom('bulk_job_parts').where('job_seq', '=', job.seq).where('part', '=', part).execute();
      await between();
    }
    for (let i = 0; i < outcome.errors.length; i += ERROR_CHUNK) {
      if (i > 0) await between();
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
        claimed_by: null,
        lease_until: null,
        failing_since: null,
        finished: now,
        modified: now,
      })
      .where('seq', '=', job.seq)
      .execute();
    // The source's next job has waited since now.
    await db
      .updateTable('bulk_jobs')
      .set({ run_after: now })
      .where('tenant_id', '=', job.tenantId)
      .where('source_id', '=', job.sourceId)
      .where('status', '=', 'PENDING')
      .where('run_after', '<', now)
      .execute();
  }

  /**
   * Gives the job back to the queue after a failure, to be claimed again from `retry.runAfter`.
   * A transient failure (`retry.failingSince` set) does not count as an attempt.
   */
  async release(db: Exec, seq: number, workerId: string, now: string, retry: { runAfter: string; failingSince: string | null }): Promise<void> {
    await db
      .updateTable('bulk_jobs')
      .set((eb) => ({
        status: 'PENDING',
        claimed_by: null,
        lease_until: null,
        run_after: retry.runAfter,
        failing_since: retry.failingSince,
        ...(retry.failingSince !== null ? { attempts: eb('attempts', '-', 1) } : {}),
        modified: now,
      }))
      .where('seq', '=', seq)
      .where('claimed_by', '=', workerId)
      .execute();
  }
}

export interface QueueLoad {
  jobs: number;
  bytes: number;
}
