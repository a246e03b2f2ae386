/** Bulk upload jobs: what a job is, what it found, and the mapping of its rows. */
import type { Selectable } from 'kysely';
import type { BulkJobStatus, BulkJobTable } from '../../db/types.js';

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
  /** The first of the transient failures in a row that put the job back in the queue. */
  failingSince: string | null;
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
  fileSize: number;
  rows: number;
  created: string;
}

/** One problem of a row (or of the file when `line` is null). */
export interface RowError {
  line: number | null;
  column: string | null;
  value: string | null;
  message: string;
}

export interface JobOutcome {
  status: 'COMPLETED' | 'ERROR';
  counts: JobCounts;
  message: string | null;
  errors: readonly RowError[];
  /** All errors found; `errors` may hold fewer. */
  errorCount: number;
}

export type JobRow = Pick<Selectable<BulkJobTable>, (typeof JOB_COLUMNS)[number]>;

/** The columns of a job but its file. */
export const JOB_COLUMNS = [
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
  'failing_since',
  'created',
  'modified',
  'started',
  'finished',
] as const;

export function toJob(row: JobRow): BulkJob {
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
    failingSince: row.failing_since,
    created: row.created,
    modified: row.modified,
    started: row.started,
    finished: row.finished,
  };
}
