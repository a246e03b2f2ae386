/**
 * The bulk upload worker: claims queued jobs (see repository.ts for the claim, the per-source
 * order and the lease) and runs up to `jobsAtOnce` of them at once, with the job poller. No HTTP.
 *
 * A job first checks its stored CSV on a worker thread (check.ts), outside any transaction (other
 * work, other jobs' writes included, goes on meanwhile): it matches the header to the schema and
 * validates every row with the records' validation. Then ONE transaction holds the job's row and:
 * - any invalid row: nothing is written; the job ends ERROR with one error line per problem;
 * - all valid: the source's record slots are taken for the new records (the 20,000 limit counts
 *   existing plus new), new records are inserted, changed ones updated (accountName is the key),
 *   and the job is marked COMPLETED.
 * If the schema changed between the check and the transaction, the file is checked again.
 * A crash before the commit leaves nothing behind and the job runs again; after it, the job is
 * already COMPLETED. A transient database failure (the disk full, I/O, a lost connection, see
 * `isTransient`) puts the job back in the queue without counting an attempt, to run again after
 * a wait that grows with the time it has been failing (1 s, then doubling, at most 5 min), until
 * `retrySeconds` have passed since the first failure of the run; then the job ends ERROR saying
 * why. Any other failure counts an attempt; after MAX_ATTEMPTS the job ends ERROR.
 *
 * No step holds the event loop long (docs/bulk.md, "The event loop"): the loop turns between two
 * parts of the stored file (read and deleted), between two statements reading the source's records
 * (a page each, under its lock, matched and let go), and every SLICE_MS of matching rows and of
 * statements writing records (WRITE_BATCH a statement), so the server answers other requests
 * meanwhile (reads see the last committed state). The records checked are held as JSON text in one
 * buffer until they are written. On SQLite the job's transaction holds the write connection
 * across these turns: other writes wait for its commit, as they would anyway, and reads go on on
 * the read connection.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterCommit, type Exec, transaction } from '../../db/dialect.js';
import { isTransient } from '../../db/errors.js';
import type { Database } from '../../db/types.js';
import { newUuid, nowIso } from '../../domain/ids.js';
import { LIMITS } from '../../domain/limits.js';
import { Poller } from '../../jobs/poller.js';
import type { DirectoryService } from '../directory/service.js';
import { type NonEmployeeRecord, type NormalisedRecord, normalisedOf } from '../records/model.js';
import { RECORD_FIELDS, type RecordService } from '../records/service.js';
import { type Actor, changesOf } from '../events/model.js';
import type { EventLog } from '../events/service.js';
import { changedFields, type RecordAttribute } from '../records/validation.js';
import { caselessKey } from '../../domain/text.js';
import type { SchemaAttributeService } from '../schema-attributes/service.js';
import type { SourceService } from '../sources/service.js';
import { type CheckedRecords, type FileCheck, FileCheckers, failure } from './check.js';
import { nextTurn, pacer } from './csv.js';
import { type JobChanges, logJob, noChanges, requester } from './events.js';
import { PackedTexts } from './packed.js';
import type { BulkJob, JobOutcome } from './model.js';
import type { BulkRepository } from './repository.js';

export const MAX_ATTEMPTS = 5;
/** How long a claim holds without renewal, and how often a working worker renews it. */
const LEASE_MS = 30_000;
const RENEW_MS = 5_000;
/** Records per INSERT or UPDATE statement of a job: each is a short step of the event loop. */
const WRITE_BATCH = 250;
/** The source's records read per statement by a job. */
const SOURCE_PAGE = 250;
/** The first and the longest wait before a failed job runs again. */
const FIRST_RETRY_MS = 1000;
const LONGEST_RETRY_MS = 5 * 60_000;

/** Where failures go (a pino logger fits). */
export interface RunnerLog {
  error(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/** What decides a check: the attributes' names and rules. */
const schemaOf = (attributes: readonly RecordAttribute[]) => JSON.stringify(attributes.map((a) => [a.technicalName, a.system, a.required]));

/** A checked file (check.ts) and the schema it was checked against. */
type Checked = FileCheck & { schema: string };

export interface RunnerDependencies {
  records: RecordService;
  attributes: SchemaAttributeService;
  sources: SourceService;
  directory: DirectoryService;
  events: EventLog;
}

export interface RunnerOptions {
  idleMs?: number;
  /** Jobs run at once (at most one per source); default 3. */
  jobsAtOnce?: number;
  /** Seconds of transient failures after which a job ends ERROR; default one hour. */
  retrySeconds?: number;
  /**
   * No other process works on the database (SQLite): jobs left IN_PROGRESS are a stopped
   * process's, claimed again at the first tick instead of after their lease.
   */
  soleProcess?: boolean;
}

export class BulkJobRunner {
  readonly workerId = randomBytes(8).toString('hex');
  private readonly poller: Poller;
  private readonly running = new Set<Promise<void>>();
  private readonly checkers = new FileCheckers();
  private readonly jobsAtOnce: number;
  private readonly retryMs: number;
  /** Jobs a stopped process left IN_PROGRESS are still to be taken back (see `soleProcess`). */
  private orphansLeft: boolean;
  private log: RunnerLog | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly repo: BulkRepository,
    private readonly modules: RunnerDependencies,
    options: RunnerOptions = {},
  ) {
    this.jobsAtOnce = options.jobsAtOnce ?? 3;
    this.retryMs = (options.retrySeconds ?? 3600) * 1000;
    this.orphansLeft = options.soleProcess === true;
    this.poller = new Poller({
      name: 'bulk-jobs',
      tick: () => this.tick(),
      idleMs: options.idleMs ?? 2000,
      onError: (error) => {
        if (isTransient(error)) this.log?.warn({ err: error }, 'bulk upload jobs could not be claimed');
        else this.log?.error({ err: error }, 'bulk upload jobs could not be claimed');
      },
    });
  }

  start(log?: RunnerLog): void {
    this.log = log;
    this.poller.start();
  }

  /** Hears of each job this runner ended, with its run's seconds, once committed (the metrics). */
  onFinished: ((status: JobOutcome['status'], seconds: number) => void) | undefined;

  get isRunning(): boolean {
    return this.poller.isRunning;
  }

  /**
   * Stops claiming, gives back the jobs not yet in their transaction (another process claims them
   * at once; here they stop at it), and waits for the jobs in progress.
   */
  async stop(): Promise<void> {
    await this.poller.stop();
    if (this.running.size > 0)
      await this.repo.giveBack(this.db, this.workerId).catch((error) => this.log?.warn({ err: error }, 'bulk upload jobs not given back'));
    await Promise.all(this.running);
    await this.checkers.close();
  }

  wake(): void {
    this.poller.wake();
  }

  /** Runs jobs until none is runnable and none is running. */
  async drain(): Promise<void> {
    for (;;) {
      await this.poller.drain();
      if (this.running.size === 0) return;
      await Promise.race(this.running);
    }
  }

  /** Claims one job and starts it; false when every slot is taken or no job is runnable. */
  async tick(): Promise<boolean> {
    if (this.running.size >= this.jobsAtOnce) return false;
    if (this.orphansLeft) {
      await this.repo.endLeases(this.db);
      this.orphansLeft = false;
    }
    const now = Date.now();
    const job = await this.repo.claim(this.db, this.workerId, new Date(now).toISOString(), new Date(now + LEASE_MS).toISOString());
    if (!job) return false;
    const run: Promise<void> = this.run(job).finally(() => {
      this.running.delete(run);
      this.poller.wake();
    });
    this.running.add(run);
    return true;
  }

  /** One attempt at a job: check, then write its outcome; never throws. */
  private async run(job: BulkJob): Promise<void> {
    const renewal = setInterval(() => {
      const until = new Date(Date.now() + LEASE_MS).toISOString();
      this.repo
        .renew(this.db, job.seq, this.workerId, until)
        .catch((error) => this.log?.warn({ err: error, jobId: job.id }, 'bulk upload job: its lease was not renewed'));
    }, RENEW_MS);
    renewal.unref();
    try {
      const given = job.attempts > MAX_ATTEMPTS ? failure(`The job failed ${MAX_ATTEMPTS} times on an internal error and was given up.`, []) : undefined;
      const checked = given ? undefined : await this.check(job);
      const actor = await requester(this.modules.directory, job);
      let written = 0;
      await transaction(this.db, async (trx) => {
        // Claimed again meanwhile by another worker (this one lost its lease): it is theirs.
        if (!(await this.repo.lock(trx, job.seq, this.workerId))) return;
        // While this transaction holds the job's row no other worker claims it (claims skip locked
        // rows), and a renewal would wait for the row, holding a pooled connection all along (a
        // job of minutes would take them all): the lease is no longer renewed.
        clearInterval(renewal);
        const changes = noChanges();
        await this.finish(trx, job, given ?? (await this.apply(trx, job, checked!, changes, actor)), changes, actor);
        written = changes.created.length + changes.updated.length;
      });
      // After the commit, holding none of the job's locks: an ANALYZE waits for a vacuum of its table.
      await this.repo
        .analyzeWritten(this.db, written)
        .catch((error) => this.log?.warn({ err: error, jobId: job.id }, 'bulk upload job: the statistics of the tables it wrote were not refreshed'));
    } catch (error) {
      await this.failed(job, error);
    } finally {
      clearInterval(renewal);
    }
  }

  /** In the job's transaction: the outcome of a checked file, written when it is valid (its record changes into `changes`). */
  private async apply(trx: Exec, job: BulkJob, checked: Checked, changes: JobChanges, actor: Actor): Promise<JobOutcome> {
    if ('outcome' in checked) return checked.outcome;
    const now = schemaOf(await this.modules.attributes.of(job.tenantId, job.sourceId));
    const current = now === checked.schema ? checked : await this.check(job);
    return 'outcome' in current ? current.outcome : this.write(trx, job, current.records, current.absent, changes, actor);
  }

  /** Ends the job with its outcome and its events, in the job's transaction. */
  private async finish(trx: Exec, job: BulkJob, outcome: JobOutcome, changes: JobChanges, actor: Actor): Promise<void> {
    const finished = nowIso();
    await this.repo.finish(trx, job, outcome, finished, nextTurn);
    afterCommit(trx, () => this.onFinished?.(outcome.status, (Date.parse(finished) - Date.parse(job.started ?? finished)) / 1000));
    await logJob(trx, this.modules, job, outcome, changes, finished, actor);
  }

  /** Puts the job back in the queue, or ends it when it has failed long enough. */
  private async failed(job: BulkJob, error: unknown): Promise<void> {
    const now = Date.now();
    const transient = isTransient(error);
    const since = transient ? (job.failingSince ? Date.parse(job.failingSince) : now) : null;
    try {
      if (since !== null && now - since >= this.retryMs) {
        this.log?.error({ err: error, jobId: job.id }, 'bulk upload job given up: the database kept failing');
        const hours = this.retryMs >= 3_600_000 ? `${Math.round(this.retryMs / 360_000) / 10} h` : `${Math.round(this.retryMs / 1000)} s`;
        const reason = error instanceof Error ? error.message : String(error);
        const outcome = failure(`The database kept failing for ${hours} (${reason}); the job was given up and nothing was imported.`, []);
        const actor = await requester(this.modules.directory, job);
        await transaction(this.db, async (trx) => {
          if (await this.repo.lock(trx, job.seq, this.workerId)) await this.finish(trx, job, outcome, noChanges(), actor);
        });
        return;
      }
      const wait =
        since !== null
          ? Math.min(Math.max(now - since, FIRST_RETRY_MS), LONGEST_RETRY_MS)
          : Math.min(FIRST_RETRY_MS * 2 ** (job.attempts - 1), LONGEST_RETRY_MS);
      const details = { err: error, jobId: job.id, attempt: job.attempts, retryInMs: wait };
      if (since !== null) this.log?.warn(details, 'bulk upload job: the database failed; the job stays queued and runs again');
      else this.log?.error(details, 'bulk upload job failed');
      const retry = { runAfter: new Date(now + wait).toISOString(), failingSince: since === null ? null : new Date(since).toISOString() };
      await this.repo.release(this.db, job.seq, this.workerId, new Date(now).toISOString(), retry);
    } catch (again) {
      // The job stays claimed until its lease runs out; then it is claimed again.
      this.log?.error({ err: again, jobId: job.id }, 'bulk upload job could not be put back in the queue');
    }
  }

  /** Reads the stored file and validates it against the schema as it is now, on a worker thread; no transaction. */
  private async check(job: BulkJob): Promise<Checked> {
    const { tenantId } = job;
    const attributes = await this.modules.attributes.of(tenantId, job.sourceId);
    const schema = schemaOf(attributes);
    const file = await this.repo.file(this.db, job.seq, job.fileSize, nextTurn);
    if (!file) return { schema, outcome: failure('The uploaded file is missing.', []) };
    return { schema, ...(await this.checkers.check(file, attributes, job.sourceId, (aliases) => this.modules.directory.knownAliases(tenantId, aliases))) };
  }

  /** Creates and updates the records of a valid file. Repeatable (see `transaction`): it changes nothing of `file`. */
  private async write(trx: Exec, job: BulkJob, file: CheckedRecords, absent: readonly string[], changes: JobChanges, actor: Actor): Promise<JobOutcome> {
    const { tenantId, sourceId } = job;
    const { sources, records: recordService } = this.modules;
    // The source row first, then the records: the lock order of every record write. Holding it
    // (taking no slot yet) keeps record creates of the source out until the job commits.
    if (!(await sources.takeSlots(trx, tenantId, sourceId, 'record_count', 0))) throw new Error(`bulk job ${job.id}: the source is gone`);
    const pace = pacer();
    const rowOf = new Map<string, number>();
    for (const [k, key] of file.keys.entries()) {
      rowOf.set(key, k);
      const turn = pace();
      if (turn) await turn;
    }
    const now = nowIso();
    const matched = new Uint8Array(file.count);
    const updated = new PackedTexts();
    let [existing, found, unchanged] = [0, 0, 0];
    // The source's records, read under its lock in the transaction (on its connection: holding
    // the lock, the job must need no other, which requests waiting for the lock may all hold), a
    // page at a time, each matched and let go.
    for (let from: string | undefined; ; ) {
      const page = await recordService.pageOfSource(tenantId, sourceId, from, SOURCE_PAGE, trx);
      for (const before of page) {
        existing++;
        const k = rowOf.get(caselessKey(before.accountName));
        if (k === undefined) continue;
        matched[k] = 1;
        found++;
        const record = JSON.parse(file.text(k)) as NormalisedRecord;
        // Custom attributes without a column keep their values.
        for (const key of absent) if (before.data[key] !== undefined) record.data[key] = before.data[key];
        if (changedFields(normalisedOf(before), record).length === 0) unchanged++;
        else {
          const after: NonEmployeeRecord = { ...before, ...record, modified: now };
          const text = JSON.stringify(after);
          updated.push(text);
          changes.updated.push(after.id, `{"object":${text},"changes":${JSON.stringify(changesOf(before, after, RECORD_FIELDS))},"jobId":"${job.id}"}`);
        }
        const turn = pace();
        if (turn) await turn;
      }
      if (page.length < SOURCE_PAGE) break;
      from = page.at(-1)!.accountName;
      await nextTurn();
    }
    const created = file.count - found;
    // Room for all the new records is checked first (their slots taken and given back, under the
    // source's lock): written WRITE_BATCH at a time below, they cannot pass the limit halfway.
    if (!(await sources.takeSlots(trx, tenantId, sourceId, 'record_count', created))) {
      const message = `The source holds ${existing} records; adding ${created} would pass the limit of ${LIMITS.recordsPerSource}.`;
      return failure(message, [{ line: null, column: null, value: null, message }]);
    }
    await sources.giveSlots(trx, tenantId, sourceId, 'record_count', created);
    const batch: NonEmployeeRecord[] = [];
    const insert = async () => {
      // In id order: ids made later are larger, so the primary key index is filled page by page.
      batch.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      if (!(await recordService.insertNew(trx, tenantId, sourceId, batch))) throw new Error(`bulk job ${job.id}: the source had no room left`);
      batch.length = 0;
      const turn = pace();
      if (turn) await turn;
    };
    for (let k = 0; k < file.count; k++) {
      if (matched[k] === 1) continue;
      const text = file.text(k);
      const record: NonEmployeeRecord = { id: newUuid(), ...(JSON.parse(text) as NormalisedRecord), created: now, modified: now };
      batch.push(record);
      // JSON.stringify(record) spelled from the text it was parsed from: no second serialization.
      const object = `{"id":"${record.id}",${text.slice(1, -1)},"created":"${now}","modified":"${now}"}`;
      changes.created.push(record.id, `{"object":${object},"jobId":"${job.id}"}`);
      if (batch.length === WRITE_BATCH) await insert();
    }
    if (batch.length > 0) await insert();
    let written = 0;
    for (let i = 0; i < updated.length; i += WRITE_BATCH) {
      const records: NonEmployeeRecord[] = [];
      for (let k = i; k < Math.min(updated.length, i + WRITE_BATCH); k++) records.push(JSON.parse(updated.at(k)) as NonEmployeeRecord);
      written += await recordService.updateMany(trx, tenantId, records, actor);
      const turn = pace();
      if (turn) await turn;
    }
    if (written !== updated.length) throw new Error(`bulk job ${job.id}: ${updated.length - written} records vanished while it ran`);
    return {
      status: 'COMPLETED',
      counts: { created, updated: updated.length, unchanged, failed: 0 },
      message: null,
      errors: [],
      errorCount: 0,
    };
  }
}
