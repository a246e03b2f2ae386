/**
 * The bulk upload worker: claims queued jobs (see repository.ts for the claim and the per-source
 * order) and runs them with the job poller. No HTTP.
 *
 * A job runs in ONE transaction that holds its row: it reads its stored CSV again, validates every
 * row with the records' validation, and then:
 * - any invalid row: nothing is written; the job ends ERROR with one error line per problem;
 * - all valid: the source's record slots are taken for the new records (the 20,000 limit counts
 *   existing plus new), new records are inserted, changed ones updated (accountName is the key),
 *   and the job is marked COMPLETED.
 * A crash before the commit leaves nothing behind and the job runs again; after it, the job is
 * already COMPLETED. An unexpected failure gives the job back to the queue; after MAX_ATTEMPTS it
 * ends ERROR. The event loop turns every 500 rows read and between two INSERT or UPDATE statements,
 * so the server answers other requests meanwhile (reads see the last committed state).
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type Exec, transaction } from '../../db/dialect.js';
import type { Database } from '../../db/types.js';
import { newUuid, nowIso } from '../../domain/ids.js';
import { caselessKey } from '../../domain/text.js';
import { LIMITS } from '../../domain/limits.js';
import { Poller } from '../../jobs/poller.js';
import type { DirectoryService } from '../directory/service.js';
import { type NonEmployeeRecord, type NormalisedRecord, normalisedOf } from '../records/model.js';
import type { RecordService } from '../records/service.js';
import { changedFields } from '../records/validation.js';
import type { SchemaAttributeService } from '../schema-attributes/service.js';
import type { SourceService } from '../sources/service.js';
import { columnValues, mapColumns, nextTurn, type RowsValidation, validateRows } from './columns.js';
import { CsvError, readCsv } from './csv.js';
import type { BulkJob, JobCounts, JobOutcome, RowError } from './model.js';
import type { BulkRepository } from './repository.js';

export const MAX_ATTEMPTS = 5;
/** Error lines kept per job; the count says how many there were. */
export const MAX_STORED_ERRORS = 10_000;

/** Where failures go (a pino logger fits). */
export interface RunnerLog {
  error(details: object, message: string): void;
}

/** `n` new record ids. */
function newIds(n: number): string[] {
  return Array.from({ length: n }, () => newUuid());
}

const NO_COUNTS: JobCounts = { created: 0, updated: 0, unchanged: 0, failed: 0 };

function failure(message: string, errors: readonly RowError[], failed = 0): JobOutcome {
  return { status: 'ERROR', counts: { ...NO_COUNTS, failed }, message, errors: errors.slice(0, MAX_STORED_ERRORS), errorCount: errors.length };
}

export interface RunnerDependencies {
  records: RecordService;
  attributes: SchemaAttributeService;
  sources: SourceService;
  directory: DirectoryService;
}

export class BulkJobRunner {
  readonly workerId = randomBytes(8).toString('hex');
  private readonly poller: Poller;
  private log: RunnerLog | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly repo: BulkRepository,
    private readonly modules: RunnerDependencies,
    options: { idleMs?: number } = {},
  ) {
    this.poller = new Poller({ name: 'bulk-jobs', tick: () => this.tick(), idleMs: options.idleMs ?? 2000, onError: (error) => this.failed(error) });
  }

  private failed(error: unknown, job?: BulkJob): void {
    this.log?.error({ err: error, jobId: job?.id }, 'bulk upload job failed');
  }

  start(log?: RunnerLog): void {
    this.log = log;
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
    const job = await this.repo.claim(this.db, this.workerId, nowIso());
    if (!job) return false;
    try {
      await transaction(this.db, async (trx) => {
        // Claimed again meanwhile by another worker: it is theirs.
        if (!(await this.repo.lock(trx, job.seq, this.workerId))) return;
        const outcome =
          job.attempts > MAX_ATTEMPTS ? failure(`The job failed ${MAX_ATTEMPTS} times on an internal error and was given up.`, []) : await this.run(trx, job);
        await this.repo.finish(trx, job, outcome, nowIso());
      });
    } catch (error) {
      this.failed(error, job);
      await this.repo.release(this.db, job.seq, this.workerId, nowIso());
    }
    return true;
  }

  /** The job's work, in its transaction: validate the file, then write it (or nothing). */
  private async run(trx: Exec, job: BulkJob): Promise<JobOutcome> {
    const { tenantId } = job;
    const file = await this.repo.file(trx, job.seq);
    if (!file) return failure('The uploaded file is missing.', []);

    // The schema may have changed since the upload was accepted: the header is matched again.
    const attributes = await this.modules.attributes.of(tenantId, job.sourceId);
    let checked: RowsValidation;
    let absent: string[];
    try {
      const reader = readCsv(file);
      const { map, problems } = mapColumns(reader.header, attributes);
      if (problems.length > 0) {
        const errors = problems.map((p) => ({ line: 1, column: null, value: null, message: p.text }));
        return failure('The header does not match the schema of the source.', errors);
      }
      // Two passes over the file, keeping no table: the managers it names, then the rows.
      const managers = await this.modules.directory.knownAliases(tenantId, (await columnValues(reader, map, 'manager')).values);
      checked = await validateRows(reader, map, { sourceId: job.sourceId, attributes, managers }, MAX_STORED_ERRORS);
      absent = map.absent;
    } catch (error) {
      if (!(error instanceof CsvError)) throw error;
      return failure(`The file is not CSV: ${error.message}`, [{ line: error.line ?? null, column: null, value: null, message: error.message }]);
    }
    if (checked.errorCount > 0) {
      const outcome = failure(`${checked.failed} of ${checked.rows} rows are invalid: nothing was imported.`, checked.errors, checked.failed);
      return { ...outcome, errorCount: checked.errorCount };
    }
    return this.write(trx, job, checked.valid, absent);
  }

  /** Creates and updates the records of a valid file. */
  private async write(trx: Exec, job: BulkJob, records: NormalisedRecord[], absent: readonly string[]): Promise<JobOutcome> {
    const { tenantId, sourceId } = job;
    const { sources, records: recordService } = this.modules;
    // The source row first, then the records: the lock order of every record write. Holding it
    // (taking no slot yet) keeps record creates of the source out until the job commits.
    if (!(await sources.takeSlots(trx, tenantId, sourceId, 'record_count', 0))) throw new Error(`bulk job ${job.id}: the source is gone`);
    const existing = new Map<string, NonEmployeeRecord>();
    for (const r of await recordService.bySource(trx, tenantId, sourceId)) existing.set(caselessKey(r.accountName), r);
    const now = nowIso();
    const ids = newIds(records.length);
    const created: NonEmployeeRecord[] = [];
    const updated: NonEmployeeRecord[] = [];
    let unchanged = 0;
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      const before = existing.get(caselessKey(record.accountName));
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
    // In id order: the primary key index is filled page by page rather than at random.
    created.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (!(await recordService.insertNew(trx, tenantId, sourceId, created, nextTurn))) {
      const message = `The source holds ${existing.size} records; adding ${created.length} would pass the limit of ${LIMITS.recordsPerSource}.`;
      return failure(message, [{ line: null, column: null, value: null, message }]);
    }
    const written = await recordService.updateMany(trx, tenantId, updated, nextTurn);
    if (written !== updated.length) throw new Error(`bulk job ${job.id}: ${updated.length - written} records vanished while it ran`);
    return {
      status: 'COMPLETED',
      counts: { created: created.length, updated: updated.length, unchanged, failed: 0 },
      message: null,
      errors: [],
      errorCount: 0,
    };
  }
}
