/**
 * The events of a bulk import (docs/events.md): one `record.created` or `record.updated` per record
 * it wrote, with the job's id, then one `bulk_job.completed` or `bulk_job.failed`, all appended in
 * the job's transaction after its records. A record event's data is kept as its JSON text until
 * then, written as it was made (thousands of record objects held through a job cost collection
 * pauses, and would be serialized twice).
 */
import type { Exec } from '../../db/dialect.js';
import type { DirectoryService } from '../directory/service.js';
import type { Actor, SerializedEventInput } from '../events/model.js';
import type { EventLog } from '../events/service.js';
import { pacer } from './csv.js';
import type { BulkJob, JobOutcome } from './model.js';

/**
 * Record events appended per statement (hashed, bound and written); the event loop turns between
 * two once SLICE_MS have passed. 500 took 20-40 ms of the loop at a time.
 */
const SLICE = 100;

/** A record the job wrote, and its event's data as JSON text (`{object, changes?, jobId}`). */
export interface RecordTold {
  id: string;
  data: string;
}

/** The records a job created and changed. */
export interface JobChanges {
  created: RecordTold[];
  updated: RecordTold[];
}

export const noChanges = (): JobChanges => ({ created: [], updated: [] });

export interface JobEventDependencies {
  directory: DirectoryService;
  events: EventLog;
}

/**
 * The job's requester, as the actor of its events (its id, when the identity is gone). Looked up
 * before the job's transaction takes its locks: with them held, a query on another pooled
 * connection could wait for one that requests blocked on those locks all hold.
 */
export async function requester(directory: DirectoryService, job: BulkJob): Promise<Actor> {
  const identity = await directory.identityById(job.tenantId, job.requestedBy);
  return { id: job.requestedBy, alias: identity?.alias ?? job.requestedBy };
}

/** Appends, in the job's transaction, its record events and the event of how it ended; `actor` is its `requester`. */
export async function logJob(
  trx: Exec,
  deps: JobEventDependencies,
  job: BulkJob,
  outcome: JobOutcome,
  changes: JobChanges,
  finished: string,
  actor: Actor,
): Promise<void> {
  const pace = pacer();
  for (const verb of ['created', 'updated'] as const) {
    const told = changes[verb];
    for (let i = 0; i < told.length; i += SLICE) {
      const slice = told
        .slice(i, i + SLICE)
        .map(
          ({ id, data }): SerializedEventInput => ({ type: `record.${verb}`, actor, target: { type: 'record', id, sourceId: job.sourceId }, dataText: data }),
        );
      await deps.events.append(trx, job.tenantId, slice);
      const turn = pace();
      if (turn) await turn;
    }
  }
  const object = {
    id: job.id,
    sourceId: job.sourceId,
    fileName: job.fileName,
    status: outcome.status,
    counts: outcome.counts,
    errorCount: outcome.errorCount,
    message: outcome.message,
    requestedBy: job.requestedBy,
    created: job.created,
    finished,
  };
  const type = outcome.status === 'COMPLETED' ? 'bulk_job.completed' : 'bulk_job.failed';
  await deps.events.append(trx, job.tenantId, [{ type, actor, target: { type: 'bulk_job', id: job.id, sourceId: job.sourceId }, data: { object } }]);
}
