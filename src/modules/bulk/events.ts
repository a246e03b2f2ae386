/**
 * The events of a bulk import (docs/events.md): one `record.created` or `record.updated` per record
 * it wrote, with the job's id, then one `bulk_job.completed` or `bulk_job.failed`, all appended in
 * the job's transaction after its records, in one append (the chain's head read and moved once). A
 * record event's data is kept as its JSON text until then, written as it was made and held off the
 * heap (thousands of record objects, or strings, held through a job cost collection pauses, and
 * objects would be serialized twice).
 */
import type { Exec } from '../../db/dialect.js';
import type { DirectoryService } from '../directory/service.js';
import type { Actor, EventInput, SerializedEventInput } from '../events/model.js';
import type { EventLog } from '../events/service.js';
import type { BulkJob, JobOutcome } from './model.js';
import { PackedTexts } from './packed.js';

/** A record the job wrote, and its event's data as JSON text (`{object, changes?, jobId}`). */
export interface RecordTold {
  id: string;
  data: string;
}

/** Records a job wrote, in the order it wrote them, held off the heap (PackedTexts) until the events are appended. */
export class ToldRecords {
  /** Each record's id, then its event's data. */
  private readonly texts = new PackedTexts();

  get length(): number {
    return this.texts.length / 2;
  }

  push(id: string, data: string): void {
    this.texts.push(id);
    this.texts.push(data);
  }

  *[Symbol.iterator](): Generator<RecordTold> {
    for (let k = 0; k < this.texts.length; k += 2) yield { id: this.texts.at(k), data: this.texts.at(k + 1) };
  }
}

/** The records a job created and changed. */
export interface JobChanges {
  created: ToldRecords;
  updated: ToldRecords;
}

export const noChanges = (): JobChanges => ({ created: new ToldRecords(), updated: new ToldRecords() });

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
  function* events(): Generator<EventInput | SerializedEventInput> {
    for (const verb of ['created', 'updated'] as const)
      for (const { id, data } of changes[verb]) yield { type: `record.${verb}`, actor, target: { type: 'record', id, sourceId: job.sourceId }, dataText: data };
    yield { type, actor, target: { type: 'bulk_job', id: job.id, sourceId: job.sourceId }, data: { object } };
  }
  await deps.events.appendAll(trx, job.tenantId, events());
}
