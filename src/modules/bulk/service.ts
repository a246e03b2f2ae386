/**
 * Bulk upload, export and template (docs/bulk.md) and the job extension endpoints.
 * No HTTP, no SQL: the upload arrives as a file checked as it came in (upload.ts); the work of a
 * job is done by `runner.ts`.
 *
 * Who may do what (docs/authorization.md):
 * - upload: `idn:nesr:create` (the spec's rule; an upload may also update records);
 * - export, template: `idn:nesr:read`, or the owner or an account manager of the source (they
 *   may list its records and schema attributes anyway);
 * - status, jobs, job errors: `idn:nesr:read` (the spec's rule), or `idn:nesr:create` (who may
 *   upload must be able to follow the upload).
 *
 * An upload is judged at once where it can be: no `data` part, not CSV text, bad header, over
 * the size cap, more new records than the source can take → 400 with one cause per problem.
 * The rows themselves are validated by the job.
 *
 * The queue is capped: the unfinished jobs (PENDING, IN_PROGRESS) of a source and of a tenant, and
 * the bytes of their files. The caps are checked in the transaction that inserts the job, with the
 * tenant's row locked, so uploads racing each other cannot pass them together.
 *
 * No step holds the event loop long: the file is checked as it arrives (upload.ts), a part at a
 * time, and stored a part (FILE_PART) per statement in the transaction that queues the job, with
 * a turn of the event loop between two.
 */
import type { Kysely } from 'kysely';
import { hasRight, type Principal } from '../../auth/principal.js';
import type { BulkQueueSettings } from '../../config/config.js';
import { type Exec, transaction } from '../../db/dialect.js';
import type { Database } from '../../db/types.js';
import { newUuid, nowIso } from '../../domain/ids.js';
import { LIMITS } from '../../domain/limits.js';
import { caselessKey, controlCharacterProblem, isStorableText } from '../../domain/text.js';
import { ApiError, assertThat, type Cause, DetailCode, fail, RetryLaterError } from '../../errors/api-error.js';
import type { NonEmployeeRecord } from '../records/model.js';
import type { RecordService } from '../records/service.js';
import type { SchemaAttributeService } from '../schema-attributes/service.js';
import type { Source } from '../sources/model.js';
import type { SourceService } from '../sources/service.js';
import { mapColumns } from './columns.js';
import { CsvError, csvLine, nextTurn, pacer } from './csv.js';
import type { BulkJob } from './model.js';
import type { BulkRepository, QueueLoad } from './repository.js';
import type { JobStatus } from './schemas.js';
import type { ReceivedFile } from './upload.js';

/** The largest accepted upload: 16 MiB (a full source of 20,000 rows with 10 custom attributes is about 5 MiB). */
export const MAX_UPLOAD_BYTES = 16 * 1024 * 1024;
/** The longest file name kept with a job (what file systems allow). */
export const MAX_FILE_NAME = 255;
/** Records per export query: memory stays flat whatever the size of the source, and a page is a short step. */
const EXPORT_PAGE = 250;
/** AccountNames of a source read per query, when an upload needs them. */
const NAMES_PAGE = 2000;

export interface Upload {
  /** The file, checked as it arrived. */
  file: ReceivedFile;
  /** The file part's name; null for a plain text field. */
  fileName: string | null;
  /** The file part's media type; null for a plain text field. */
  mediaType: string | null;
  /** True when the part was cut at the size cap. */
  truncated: boolean;
}

/**
 * Uploads received and checked at once in a process, per identity and in all: each reads and
 * checks up to 16 MiB, so a caller looping uploads on many connections gets 429 (Retry-After)
 * before its body is parsed instead of a share of the event loop per connection.
 */
const UPLOADS_AT_ONCE = { perIdentity: 1, all: 3 } as const;

/** Media types a CSV file part may carry (browsers send several for .csv; curl sends octet-stream). */
const CSV_TYPES = /^(text\/.+|application\/(csv|x-csv|vnd\.ms-excel|octet-stream))$/i;

/** The caps of the queue (see the module comment). */
export type QueueCaps = Pick<BulkQueueSettings, 'sourceJobs' | 'sourceBytes' | 'tenantJobs' | 'tenantBytes'>;

const mib = (bytes: number) => `${Math.ceil((bytes / 1024 / 1024) * 10) / 10} MiB`;

/** 403 unless the caller may upload records. */
function assertMayUpload(principal: Principal): void {
  assertThat(hasRight(principal, 'idn:nesr:create'), () => fail.forbidden('A bulk upload requires idn:nesr:create.'));
}

/** The cap a new upload of `bytes` would pass, said for the uploader; undefined when it fits. */
export function capPassed(load: { tenant: QueueLoad; source: QueueLoad }, bytes: number, caps: QueueCaps): string | undefined {
  const later = 'try again once one of them has ended';
  if (load.source.jobs + 1 > caps.sourceJobs)
    return `the source has ${load.source.jobs} uploads waiting or running, the most a source may have (${caps.sourceJobs}); ${later}`;
  if (load.source.bytes + bytes > caps.sourceBytes) {
    return `the source's uploads waiting or running hold ${mib(load.source.bytes)}; with this one they would pass the ${mib(caps.sourceBytes)} a source may have; ${later}`;
  }
  if (load.tenant.jobs + 1 > caps.tenantJobs)
    return `the tenant has ${load.tenant.jobs} uploads waiting or running, the most a tenant may have (${caps.tenantJobs}); ${later}`;
  if (load.tenant.bytes + bytes > caps.tenantBytes) {
    return `the tenant's uploads waiting or running hold ${mib(load.tenant.bytes)}; with this one they would pass the ${mib(caps.tenantBytes)} a tenant may have; ${later}`;
  }
  return undefined;
}

export interface CsvDownload {
  fileName: string;
  lines: AsyncIterable<string>;
}

export class BulkService {
  /** Called after a job is queued (the runner wakes up). */
  onQueued: () => void = () => {};

  /** Uploads being received and checked, per identity and in all (see UPLOADS_AT_ONCE). */
  private readonly receiving = new Map<string, number>();
  private receivingAll = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly repo: BulkRepository,
    private readonly attributes: SchemaAttributeService,
    private readonly sources: SourceService,
    private readonly records: RecordService,
    private readonly caps: QueueCaps,
  ) {}

  /**
   * The source, for the export and the template: `idn:nesr:read`, or the source's owner or an
   * account manager of it, who may list every record and attribute of it anyway.
   */
  private async readable(principal: Principal, sourceId: string): Promise<Source> {
    const source = await this.sources.findNamed(principal.tenantId, sourceId);
    if (!hasRight(principal, 'idn:nesr:read') && !(await this.sources.isOwnerOrAccountManager(principal, source.id))) {
      throw fail.forbidden('This operation requires idn:nesr:read, or being the owner or an account manager of the source.');
    }
    return source;
  }

  /**
   * The source, for the upload status and jobs: `idn:nesr:read` (the spec's rule), or
   * `idn:nesr:create`, which a caller needs to upload and then to follow what it uploaded.
   */
  private async followable(principal: Principal, sourceId: string): Promise<Source> {
    const source = await this.sources.findNamed(principal.tenantId, sourceId);
    if (!hasRight(principal, 'idn:nesr:read') && !hasRight(principal, 'idn:nesr:create')) {
      throw fail.forbidden('Upload status and jobs require idn:nesr:read or idn:nesr:create.');
    }
    return source;
  }

  /** The header of the source's CSV files: system attributes first, then custom ones by position. */
  private async columns(tenantId: string, sourceId: string): Promise<string[]> {
    return (await this.attributes.of(tenantId, sourceId)).map((a) => a.technicalName);
  }

  /** 403 or 404 before the upload is read. */
  async assertCanUpload(principal: Principal, sourceId: string): Promise<Source> {
    assertMayUpload(principal);
    return this.sources.findNamed(principal.tenantId, sourceId);
  }

  /** 400 naming the cap when the source or its tenant has no room in the queue for `bytes` more. */
  private async assertQueueRoom(db: Exec, tenantId: string, sourceId: string, bytes: number): Promise<void> {
    const passed = capPassed(await this.repo.pending(db, tenantId, sourceId), bytes, this.caps);
    if (passed) throw new ApiError(DetailCode.limitViolation, passed, [{ field: 'data', text: passed }]);
  }

  /**
   * Lets an upload in before its body is read: the caller has the right to upload, fewer than
   * UPLOADS_AT_ONCE uploads are being received (counted before any query, so that a flood past
   * them costs the database nothing), the source exists, and neither it nor its tenant has reached
   * a cap of the queue already (checked again, with the file's size, when the job is inserted).
   * The upload's place is taken before the queries, so that uploads arriving together cannot all
   * pass the count. Returns what lets the next one in.
   */
  async admit(principal: Principal, sourceId: string): Promise<() => void> {
    assertMayUpload(principal);
    const mine = this.receiving.get(principal.identityId) ?? 0;
    if (mine >= UPLOADS_AT_ONCE.perIdentity || this.receivingAll >= UPLOADS_AT_ONCE.all) {
      throw new RetryLaterError('too many uploads are being received', 1);
    }
    this.receiving.set(principal.identityId, mine + 1);
    this.receivingAll++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.receivingAll--;
      const left = (this.receiving.get(principal.identityId) ?? 1) - 1;
      if (left === 0) this.receiving.delete(principal.identityId);
      else this.receiving.set(principal.identityId, left);
    };
    try {
      const source = await this.sources.findNamed(principal.tenantId, sourceId);
      await this.assertQueueRoom(this.db, principal.tenantId, source.id, 0);
      return release;
    } catch (error) {
      release();
      throw error;
    }
  }

  async submit(principal: Principal, sourceId: string, upload: Upload | undefined): Promise<BulkJob> {
    const source = await this.assertCanUpload(principal, sourceId);
    const tenantId = principal.tenantId;
    if (!upload) throw fail.invalid([{ field: 'data', text: 'data is required: a multipart/form-data part named data holding the CSV file' }]);
    if (upload.truncated || upload.file.size > MAX_UPLOAD_BYTES) {
      throw fail.invalid([{ field: 'data', text: `data is larger than ${MAX_UPLOAD_BYTES / 1024 / 1024} MiB, the most this server accepts` }]);
    }
    if (upload.fileName !== null && (upload.fileName.length > MAX_FILE_NAME || !isStorableText(upload.fileName))) {
      throw fail.invalid([{ field: 'data', text: `data's file name must be at most ${MAX_FILE_NAME} characters of text without NUL characters` }]);
    }
    const nameProblem = upload.fileName === null ? undefined : controlCharacterProblem("data's file name", upload.fileName);
    if (nameProblem !== undefined) throw fail.invalid([{ field: 'data', text: nameProblem }]);
    if (upload.mediaType && !CSV_TYPES.test(upload.mediaType.split(';')[0]!.trim())) {
      throw fail.invalid([{ field: 'data', text: `data must be a CSV file (text/csv), not ${upload.mediaType}` }]);
    }
    const { file } = upload;
    const attributes = await this.attributes.of(tenantId, source.id);
    let scan: { problems: Cause[]; rows: number; accountKeys: Set<string> };
    try {
      // Every row was read as the file arrived (a malformed one refuses it), but none was kept.
      const { header, rows, accountKeys } = file.scan();
      scan = { problems: mapColumns(header, attributes).problems, rows, accountKeys };
    } catch (error) {
      if (error instanceof CsvError) throw fail.invalid([{ field: 'data', text: `data is not a CSV file: ${error.message}` }]);
      throw error;
    }
    const causes: Cause[] = [...scan.problems];
    const max = LIMITS.recordsPerSource;
    let limited = false;
    if (scan.rows > max) {
      causes.push({ field: 'data', text: `data has ${scan.rows} rows; a source holds at most ${max} records` });
      limited = true;
    } else if (scan.problems.length === 0 && source.recordCount + scan.accountKeys.size > max) {
      // Only a source that could pass its limit has its names read, a page at a time and none
      // kept: how many of the file's it holds already (a source's names are distinct, caselessly).
      const pace = pacer();
      let existing = 0;
      let held = 0;
      for (let from: string | undefined; ; ) {
        const names = await this.records.accountNames(tenantId, source.id, from, NAMES_PAGE);
        for (const name of names) {
          existing++;
          if (scan.accountKeys.has(caselessKey(name))) held++;
          const turn = pace();
          if (turn) await turn;
        }
        if (names.length < NAMES_PAGE) break;
        from = names.at(-1);
        await nextTurn();
      }
      const added = scan.accountKeys.size - held;
      if (existing + added > max) {
        causes.push({ field: 'data', text: `data adds ${added} records to the ${existing} of the source; a source holds at most ${max}` });
        limited = true;
      }
    }
    if (causes.length > 0) {
      if (limited && causes.length === 1) throw new ApiError(DetailCode.limitViolation, causes[0]!.text, causes);
      throw fail.invalid(causes);
    }
    const job = await transaction(this.db, async (trx) => {
      await this.repo.lockTenant(trx, tenantId);
      await this.assertQueueRoom(trx, tenantId, source.id, file.size);
      const inserted = await this.repo.insert(trx, tenantId, {
        id: newUuid(),
        sourceId: source.id,
        requestedBy: principal.identityId,
        fileName: upload.fileName,
        fileSize: file.size,
        rows: scan.rows,
        created: nowIso(),
      });
      await this.repo.storeFile(trx, inserted.seq, file.parts, nextTurn);
      return inserted;
    });
    this.onQueued();
    return job;
  }

  /** The newest job's status; `{}` when the source has none. */
  async status(principal: Principal, sourceId: string): Promise<{ status: JobStatus | null }> {
    const source = await this.followable(principal, sourceId);
    const [newest] = await this.repo.list(this.db, principal.tenantId, source.id, 1, 0);
    return { status: newest?.status ?? null };
  }

  async template(principal: Principal, sourceId: string): Promise<{ fileName: string; csv: string }> {
    const source = await this.readable(principal, sourceId);
    return { fileName: `${source.id}-schema-template.csv`, csv: csvLine(await this.columns(principal.tenantId, source.id)) };
  }

  /**
   * Every record of the source under the template's header, read page by page (by accountName)
   * as the consumer pulls lines: memory stays flat whatever the size of the source.
   */
  async export(principal: Principal, sourceId: string): Promise<CsvDownload> {
    const source = await this.readable(principal, sourceId);
    const tenantId = principal.tenantId;
    const header = await this.columns(tenantId, source.id);
    const records = this.records;
    const cell = (r: NonEmployeeRecord, name: string): string => {
      switch (name) {
        case 'accountName':
        case 'firstName':
        case 'lastName':
        case 'phone':
        case 'email':
        case 'manager':
        case 'startDate':
        case 'endDate':
          return r[name];
        default:
          return r.data[name] ?? '';
      }
    };
    async function* lines(): AsyncGenerator<string> {
      yield csvLine(header);
      let after: string | undefined;
      for (;;) {
        // A client that reads as fast as pages are made would otherwise hold the event loop for
        // the whole file (~180 ms for 20,000 records on SQLite): other requests go between pages.
        if (after !== undefined) await nextTurn();
        const page = await records.pageOfSource(tenantId, source.id, after, EXPORT_PAGE);
        let chunk = '';
        for (const r of page) chunk += csvLine(header.map((name) => cell(r, name)));
        if (chunk) yield chunk;
        if (page.length < EXPORT_PAGE) return;
        after = page[page.length - 1]!.accountName;
      }
    }
    return { fileName: `${source.id}-non-employees.csv`, lines: lines() };
  }

  async jobs(principal: Principal, sourceId: string, page: { limit: number; offset: number; count: boolean }): Promise<{ jobs: BulkJob[]; total?: number }> {
    const source = await this.followable(principal, sourceId);
    const jobs = await this.repo.list(this.db, principal.tenantId, source.id, page.limit, page.offset);
    return page.count ? { jobs, total: await this.repo.count(this.db, principal.tenantId, source.id) } : { jobs };
  }

  async job(principal: Principal, sourceId: string, jobId: string): Promise<BulkJob> {
    const source = await this.followable(principal, sourceId);
    const job = await this.repo.byId(this.db, principal.tenantId, source.id, jobId);
    assertThat(job, () => fail.notFound(`Bulk upload job ${jobId} was not found in source ${sourceId}.`));
    return job;
  }

  /** The job's problems as CSV: line, column, value, message (line empty for the whole file). */
  async jobErrors(principal: Principal, sourceId: string, jobId: string): Promise<{ fileName: string; csv: string }> {
    const job = await this.job(principal, sourceId, jobId);
    const errors = await this.repo.errors(this.db, principal.tenantId, job.id);
    let csv = csvLine(['line', 'column', 'value', 'message']);
    for (const e of errors) csv += csvLine([e.line === null ? '' : String(e.line), e.column ?? '', e.value ?? '', e.message]);
    return { fileName: `${job.id}-errors.csv`, csv };
  }
}
