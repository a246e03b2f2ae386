/**
 * The bulk upload worker: takes queued jobs from the database (see repository.ts for the claim and
 * the per-source order) and runs them with the job poller. No HTTP.
 *
 * A job reads its stored CSV again, validates every row with the records' validation, and then:
 * - any invalid row: nothing is written; the job ends ERROR with one error line per problem;
 * - all valid: in ONE transaction, the source's record slots are taken for the new records (the
 *   20,000 limit counts existing plus new), new records are inserted, changed ones updated
 *   (accountName is the key), and the job is marked COMPLETED. A crash before the commit leaves
 *   nothing behind and the job runs again; after it, the job is already COMPLETED.
 * An unexpected failure gives the job back to the queue; after MAX_ATTEMPTS it ends ERROR.
 */
import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Database } from '../../db/types.js';
import { LIMITS } from '../../domain/limits.js';
import { nowIso } from '../../domain/ids.js';
import { changedFields, type NormalisedRecord } from '../../domain/records/validation.js';
import { Poller } from '../../jobs/poller.js';
import type { RecordRepository, NonEmployeeRecord } from '../records/repository.js';
import type { SchemaAttributeRepository } from '../schema-attributes/repository.js';
import { normalisedOf } from '../records/updates.js';
import { columnValues, mapColumns, nextTurn, validateRows, type RowError, type RowsValidation } from './columns.js';
import { CsvError, readCsv } from './csv.js';
import type { BulkJob, BulkRepository, JobCounts, JobOutcome } from './repository.js';

export const MAX_ATTEMPTS = 5;
/** Error lines kept per job; the count says how many there were. */
export const MAX_STORED_ERRORS = 10_000;

export interface RunnerOptions {
  idleMs?: number;
}

/** Where failures go (a pino logger fits). */
export interface RunnerLog {
  error(details: object, message: string): void;
}

/** `n` new record ids (as auth/secrets.ts newId makes them), from one call to the random source. */
function newIds(n: number): string[] {
  const hex = randomBytes(16 * n).toString('hex');
  return Array.from({ length: n }, (_, i) => hex.slice(32 * i, 32 * i + 32));
}

const NO_COUNTS: JobCounts = { created: 0, updated: 0, unchanged: 0, failed: 0 };

function failure(message: string, errors: readonly RowError[], failed = 0): JobOutcome {
  return { status: 'ERROR', counts: { ...NO_COUNTS, failed }, message, errors: errors.slice(0, MAX_STORED_ERRORS), errorCount: errors.length };
}

export class BulkJobRunner {
  readonly workerId = randomBytes(8).toString('hex');
  private readonly poller: Poller;
  private log: RunnerLog | undefined;

  constructor(
    private readonly repo: BulkRepository,
    private readonly records: RecordRepository,
    private readonly attributes: SchemaAttributeRepository,
    options: RunnerOptions = {},
  ) {
    this.poller = new Poller({ name: 'bulk-jobs', tick: () => this.tick(), idleMs: options.idleMs ?? 2000, onError: (error) => this.failed(error) });
  }

  private failed(error: unknown, job?: BulkJob): void {
    this.log?.error({ err: error, jobId: job?.id }, 'bulk upload job failed');
  }

  /** Re-queues what a previous process left unfinished (SQLite), then polls. */
  async start(log?: RunnerLog): Promise<void> {
    this.log = log;
    await this.repo.requeueInterrupted(nowIso());
    this.poller.start();
  }

  stop(): Promise<void> {
    return this.poller.stop();
  }

  wake(): void {
    this.poller.wake();
  }

  /** Runs jobs until none is runnable. */
  drain(): Promise<void> {
    return this.poller.drain();
  }

  /** Claims and runs one job; false when there was none. */
  async tick(): Promise<boolean> {
    const job = await this.repo.claim(this.workerId, nowIso());
    if (!job) return false;
    try {
      await this.repo.hold(job.seq, this.workerId, async (apply) => {
        if (job.attempts > MAX_ATTEMPTS) {
          const outcome = failure(`The job failed ${MAX_ATTEMPTS} times on an internal error and was given up.`, []);
          return apply((trx) => this.repo.finish(trx, job, outcome, nowIso()));
        }
        return this.run(job, apply);
      });
    } catch (error) {
      this.failed(error, job);
      await this.repo.release(job.seq, this.workerId, nowIso());
    }
    return true;
  }

  private async run(job: BulkJob, apply: <R>(fn: (trx: Transaction<Database>) => Promise<R>) => Promise<R>): Promise<void> {
    const { tenantId } = job;
    const end = (outcome: JobOutcome) => apply((trx) => this.repo.finish(trx, job, outcome, nowIso()));
    const file = await this.repo.file(job.seq);
    if (!file) return end(failure('The uploaded file is missing.', []));

    // The schema may have changed since the upload was accepted: the header is matched again.
    const attributes = await this.attributes.list(tenantId, job.sourceId);
    let checked: RowsValidation;
    let absent: string[];
    try {
      const reader = readCsv(file);
      const { map, problems } = mapColumns(reader.header, attributes);
      if (problems.length > 0) {
        return end(
          failure(
            'The header does not match the schema of the source.',
            problems.map((p) => ({ line: 1, column: null, value: null, message: p.text })),
          ),
        );
      }
      // Two passes over the file, keeping no table: the managers it names, then the rows.
      const managers = await this.repo.knownAliases(tenantId, (await columnValues(reader, map, 'manager')).values);
      checked = await validateRows(reader, map, { sourceId: job.sourceId, attributes, managers }, MAX_STORED_ERRORS);
      absent = map.absent;
    } catch (error) {
      if (!(error instanceof CsvError)) throw error;
      return end(failure(`The file is not CSV: ${error.message}`, [{ line: error.line ?? null, column: null, value: null, message: error.message }]));
    }
    if (checked.errorCount > 0) {
      const outcome = failure(`${checked.failed} of ${checked.rows} rows are invalid: nothing was imported.`, checked.errors, checked.failed);
      return end({ ...outcome, errorCount: checked.errorCount });
    }
    await apply(async (trx) => {
      const outcome = await this.write(trx, job, checked.valid, absent);
      await this.repo.finish(trx, job, outcome, nowIso());
    });
  }

  /** Creates and updates the records of a valid file; inside the job's transaction. */
  private async write(trx: Transaction<Database>, job: BulkJob, records: NormalisedRecord[], absent: readonly string[]): Promise<JobOutcome> {
    const { tenantId, sourceId } = job;
    // The source row first, then the records: the lock order of every record write. Holding it
    // (taking no slot yet) keeps record creates of the source out until the job commits.
    if (!(await this.records.reserveSlots(trx, tenantId, sourceId, 0, LIMITS.recordsPerSource))) throw new Error(`bulk job ${job.id}: the source is gone`);
    const existing = new Map<string, NonEmployeeRecord>();
    for (const r of await this.repo.records(trx, tenantId, sourceId)) existing.set(r.accountName, r);
    const now = nowIso();
    const ids = newIds(records.length);
    const created: NonEmployeeRecord[] = [];
    const updated: NonEmployeeRecord[] = [];
    let unchanged = 0;
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      const before = existing.get(record.accountName);
      if (!before) {
        created.push({ id: ids[i]!, ...record, created: now, modified: now });
        continue;
      }
      // Custom attributes without a column keep their values.
      for (const key of absent) if (before.data[key] !== undefined) record.data[key] = before.data[key];
      if (changedFields(normalisedOf(before), record).length === 0) unchanged++;
      else updated.push({ ...before, ...record, modified: now });
    }
    records.length = 0;
    if (!(await this.records.reserveSlots(trx, tenantId, sourceId, created.length, LIMITS.recordsPerSource))) {
      const message = `The source holds ${existing.size} records; adding ${created.length} would pass the limit of ${LIMITS.recordsPerSource}.`;
      return failure(message, [{ line: null, column: null, value: null, message }]);
    }
    // In id order: the primary key index is filled page by page rather than at random.
    created.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    // On SQLite each statement blocks the event loop while it runs: between two of them, the
    // server answers what arrived meanwhile (record gets and list pages are read from the last
    // committed state by the read thread, src/db/sqlite-reads.ts; other work waits for the commit).
    await this.records.insertMany(trx, tenantId, created, nextTurn);
    const written = await this.records.updateMany(trx, tenantId, updated, nextTurn);
    if (written !== updated.length) throw new Error(`bulk job ${job.id}: ${updated.length - written} records vanished while it ran`);
    const counts = { created: created.length, updated: updated.length, unchanged, failed: 0 };
    return { status: 'COMPLETED', counts, message: null, errors: [], errorCount: 0 };
  }
}
