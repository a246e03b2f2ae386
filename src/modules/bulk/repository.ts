/**
 * All SQL of bulk upload jobs, and the record reads of import and export (the writes go through
 * the records repository). Engine differences of the job queue are here:
 * - PostgreSQL: the next job is claimed with `FOR UPDATE SKIP LOCKED`, and the worker keeps the
 *   job's row locked until the job ends (`hold`). A job left IN_PROGRESS whose row is not locked
 *   has lost its worker (crash, restart) and is claimed again by any process.
 * - SQLite: one process; jobs left IN_PROGRESS are re-queued when the process starts.
 * Either way a job runs only when no earlier job of its source is unfinished: strictly in order.
 */
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Engine } from '../../config/config.js';
import type { BulkJobStatus, BulkJobTable, Database } from '../../db/types.js';
import { RECORD_COLUMNS, toRecord, type NonEmployeeRecord } from '../records/repository.js';
import type { RowError } from './columns.js';

type Exec = Kysely<Database> | Transaction<Database>;

export interface JobCounts {
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
}

export interface BulkJob {
  seq: number;
  tenantId: string;
  id: string;
  sourceId: string;
  status: BulkJobStatus;
  requestedBy: string;
  fileName: string | null;
  fileSize: number;
  rows: number;
  counts: JobCounts;
  errorCount: number;
  message: string | null;
  attempts: number;
  created: string;
  modified: string;
  started: string | null;
  finished: string | null;
}

export interface NewJob {
  id: string;
  sourceId: string;
  requestedBy: string;
  fileName: string | null;
  file: Buffer;
  rows: number;
  created: string;
}

export interface JobOutcome {
  status: 'COMPLETED' | 'ERROR';
  counts: JobCounts;
  message: string | null;
  errors: readonly RowError[];
  /** All errors found; `errors` may hold fewer. */
  errorCount: number;
}

const UNFINISHED: BulkJobStatus[] = ['PENDING', 'IN_PROGRESS'];
const ERROR_CHUNK = 500;

type JobRow = Omit<Selectable<BulkJobTable>, 'file'>;
const JOB_COLUMNS = [
  'seq',
  'tenant_id',
  'id',
  'source_id',
  'status',
  'requested_by',
  'file_name',
  'file_size',
  'row_count',
  'created_count',
  'updated_count',
  'unchanged_count',
  'failed_count',
  'error_count',
  'message',
  'attempts',
  'claimed_by',
  'created',
  'modified',
  'started',
  'finished',
] as const;

function toJob(row: JobRow): BulkJob {
  return {
    seq: Number(row.seq),
    tenantId: row.tenant_id,
    id: row.id,
    sourceId: row.source_id,
    status: row.status,
    requestedBy: row.requested_by,
    fileName: row.file_name,
    fileSize: Number(row.file_size),
    rows: Number(row.row_count),
    counts: {
      created: Number(row.created_count),
      updated: Number(row.updated_count),
      unchanged: Number(row.unchanged_count),
      failed: Number(row.failed_count),
    },
    errorCount: Number(row.error_count),
    message: row.message,
    attempts: Number(row.attempts),
    created: row.created,
    modified: row.modified,
    started: row.started,
    finished: row.finished,
  };
}

export class BulkRepository {
  constructor(
    readonly db: Kysely<Database>,
    readonly engine: Engine,
  ) {}

  transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  async insertJob(tenantId: string, job: NewJob): Promise<BulkJob> {
    const row = await this.db
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

  async job(tenantId: string, sourceId: string, id: string): Promise<BulkJob | undefined> {
    const row = await this.db
      .selectFrom('bulk_jobs')
      .select(JOB_COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('source_id', '=', sourceId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toJob(row);
  }

  /** The source's jobs, newest first. */
  async jobs(tenantId: string, sourceId: string, limit: number, offset: number): Promise<BulkJob[]> {
    const rows = await this.db
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

  async countJobs(tenantId: string, sourceId: string): Promise<number> {
    const row = await this.db
      .selectFrom('bulk_jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('source_id', '=', sourceId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async errors(tenantId: string, jobId: string): Promise<RowError[]> {
    const rows = await this.db
      .selectFrom('bulk_job_errors')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('job_id', '=', jobId)
      .orderBy('position')
      .execute();
    return rows.map((r) => ({ line: r.line === null ? null : Number(r.line), column: r.column_name, value: r.value, message: r.message }));
  }

  async file(seq: number): Promise<Buffer | null> {
    const row = await this.db.selectFrom('bulk_jobs').select('file').where('seq', '=', seq).executeTakeFirst();
    return row?.file ? Buffer.from(row.file) : null;
  }

  /**
   * Claims the oldest runnable job: PENDING (or, on PostgreSQL, IN_PROGRESS with no live worker)
   * and with no earlier unfinished job of its source. Counts the attempt.
   */
  async claim(workerId: string, now: string): Promise<BulkJob | undefined> {
    const pg = this.engine === 'postgres';
    let candidate = this.db
      .selectFrom('bulk_jobs as j')
      .select('j.seq')
      .where('j.status', 'in', pg ? UNFINISHED : ['PENDING'])
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
    if (pg) candidate = candidate.forUpdate().skipLocked();
    const row = await this.db
      .updateTable('bulk_jobs')
      .set((eb) => ({ status: 'IN_PROGRESS', claimed_by: workerId, attempts: eb('attempts', '+', 1), started: now, modified: now }))
      .where('seq', '=', candidate)
      .returning(JOB_COLUMNS)
      .executeTakeFirst();
    return row && toJob(row);
  }

  /** SQLite, at start-up: the jobs a previous process left IN_PROGRESS run again. */
  async requeueInterrupted(now: string): Promise<number> {
    if (this.engine === 'postgres') return 0;
    const result = await this.db
      .updateTable('bulk_jobs')
      .set({ status: 'PENDING', claimed_by: null, modified: now })
      .where('status', '=', 'IN_PROGRESS')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /**
   * Runs `work` while this worker holds the job. `apply` runs its callback in the transaction that
   * must write the outcome: on PostgreSQL the one holding the job's row lock since the start (so
   * no other process takes the job while it runs), on SQLite a new one. Undefined when the job
   * was claimed again by another process in the meantime.
   */
  async hold<T>(
    seq: number,
    workerId: string,
    work: (apply: <R>(fn: (trx: Transaction<Database>) => Promise<R>) => Promise<R>) => Promise<T>,
  ): Promise<T | undefined> {
    if (this.engine !== 'postgres') return work((fn) => this.transaction(fn));
    return this.transaction(async (trx) => {
      const mine = await trx
        .selectFrom('bulk_jobs')
        .select('seq')
        .where('seq', '=', seq)
        .where('claimed_by', '=', workerId)
        .where('status', '=', 'IN_PROGRESS')
        .forUpdate()
        .executeTakeFirst();
      if (!mine) return undefined;
      return work((fn) => fn(trx));
    });
  }

  /** Ends the job: its outcome, its errors; the file is dropped. */
  async finish(trx: Exec, job: BulkJob, outcome: JobOutcome, now: string): Promise<void> {
    for (let i = 0; i < outcome.errors.length; i += ERROR_CHUNK) {
      await trx
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
    await trx
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
  async release(seq: number, workerId: string, now: string): Promise<void> {
    await this.db
      .updateTable('bulk_jobs')
      .set({ status: 'PENDING', claimed_by: null, modified: now })
      .where('seq', '=', seq)
      .where('claimed_by', '=', workerId)
      .execute();
  }

  /** Every record of the source (import: to tell creates from updates). */
  async records(db: Exec, tenantId: string, sourceId: string): Promise<NonEmployeeRecord[]> {
    const rows = await db.selectFrom('records').select(RECORD_COLUMNS).where('tenant_id', '=', tenantId).where('source_id', '=', sourceId).execute();
    return rows.map(toRecord);
  }

  async accountNames(tenantId: string, sourceId: string): Promise<Set<string>> {
    const rows = await this.db.selectFrom('records').select('account_name').where('tenant_id', '=', tenantId).where('source_id', '=', sourceId).execute();
    return new Set(rows.map((r) => r.account_name));
  }

  /** One page of the export: records by accountName, after `after`. */
  async exportPage(tenantId: string, sourceId: string, after: string | undefined, limit: number): Promise<NonEmployeeRecord[]> {
    let qb = this.db.selectFrom('records').select(RECORD_COLUMNS).where('tenant_id', '=', tenantId).where('source_id', '=', sourceId);
    if (after !== undefined) qb = qb.where('account_name', '>', after);
    const rows = await qb.orderBy('account_name').limit(limit).execute();
    return rows.map(toRecord);
  }

  /** The aliases among `aliases` that name identities. */
  async knownAliases(tenantId: string, aliases: Iterable<string>): Promise<Set<string>> {
    const all = [...new Set(aliases)].filter((a) => a !== '');
    const known = new Set<string>();
    for (let i = 0; i < all.length; i += 500) {
      const rows = await this.db
        .selectFrom('identities')
        .select('alias')
        .where('tenant_id', '=', tenantId)
        .where('alias', 'in', all.slice(i, i + 500))
        .execute();
      for (const r of rows) known.add(r.alias);
    }
    return known;
  }
}
