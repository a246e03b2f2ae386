/**
 * The steps of the approval state machine that run inside a transaction, shared by request
 * creation, decisions and deletion: each applies one transition with a conditional update and adds
 * its events to the transaction's `Told`, which the caller appends to the event log last. What
 * people are told by mail follows from those events (notifications/mails.ts).
 *
 * Lock order, the same in every transaction that changes a request: the request row first
 * (`lockPending` or `finish`), then its items, then the source row (the record slot), then the
 * record.
 */
import type { Exec } from '../../db/dialect.js';
import { newUuid } from '../../domain/ids.js';
import { fail } from '../../errors/api-error.js';
import type { Actor, EventInput } from '../events/model.js';
import type { NonEmployeeRecord } from '../records/model.js';
import { type RecordService, sourceFull } from '../records/service.js';
import type { ApprovalItem, NonEmployeeRequest } from './model.js';
import { approvalEvent, requestEvent } from './events.js';
import type { RequestRepository } from './repository.js';

/** Who acts in a transaction, and the events it has to append before it commits. */
export interface Told {
  actor: Actor;
  events: EventInput[];
}

export class ApprovalWorkflow {
  constructor(
    private readonly repo: RequestRepository,
    private readonly records: RecordService,
  ) {}

  /** `item` of `request` became PENDING: `approval.requested`, which tells its approver (docs/events.md). */
  requested(request: NonEmployeeRequest, item: ApprovalItem, now: string, told: Told): void {
    told.events.push(approvalEvent(told.actor, 'requested', { ...item, status: 'PENDING', modified: now }, request));
  }

  /** The request as it is now in `trx`, for the event of the transition that just ended it. */
  private async ended(trx: Exec, tenantId: string, id: string): Promise<NonEmployeeRequest> {
    return (await this.repo.byId(trx, tenantId, id))!;
  }

  /**
   * Last level approved (or no approvers): creates the record, re-checking the accountName and the
   * source's 20,000 limit, and ends the request APPROVED with its completionDate.
   */
  async complete(trx: Exec, tenantId: string, request: NonEmployeeRequest, now: string, told: Told): Promise<NonEmployeeRecord> {
    const record: NonEmployeeRecord = {
      id: newUuid(),
      sourceId: request.source.id,
      accountName: request.accountName,
      firstName: request.firstName,
      lastName: request.lastName,
      email: request.email,
      phone: request.phone,
      manager: request.manager,
      startDate: request.startDate,
      endDate: request.endDate,
      data: request.data,
      created: now,
      modified: now,
    };
    if (!(await this.repo.finish(trx, tenantId, request.id, 'APPROVED', now, record.id)))
      throw fail.illegalUpdate(`Non-employee request ${request.id} is no longer PENDING.`);
    if (!(await this.records.insertNew(trx, tenantId, request.source.id, [record]))) throw sourceFull();
    const after = await this.ended(trx, tenantId, request.id);
    told.events.push(requestEvent(told.actor, 'approved', after, { status: { old: 'PENDING', new: 'APPROVED' } }));
    told.events.push(this.records.event(told.actor, 'created', { record, context: { requestId: request.id } }));
    return record;
  }

  /** A rejection: the request ends REJECTED, the other open items are CANCELLED. */
  async reject(trx: Exec, tenantId: string, request: NonEmployeeRequest, cancel: readonly string[], now: string, told: Told): Promise<void> {
    await this.repo.cancel(trx, tenantId, cancel, now);
    if (!(await this.repo.finish(trx, tenantId, request.id, 'REJECTED', now)))
      throw fail.illegalUpdate(`Non-employee request ${request.id} is no longer PENDING.`);
    const after = await this.ended(trx, tenantId, request.id);
    told.events.push(requestEvent(told.actor, 'rejected', after, { status: { old: 'PENDING', new: 'REJECTED' } }));
  }

  /**
   * Deletes a request and its items; a record it created stays. A PENDING request is locked first,
   * so that no decision races the delete; `request.deleted` tells it as it was (the approvers of a
   * PENDING one hear it was withdrawn). False when there is no such request.
   */
  async remove(trx: Exec, tenantId: string, requestId: string, now: string, told: Told): Promise<boolean> {
    await this.repo.lockPending(trx, tenantId, requestId, now);
    const request = await this.repo.byId(trx, tenantId, requestId);
    if (!request || !(await this.repo.delete(trx, tenantId, requestId))) return false;
    told.events.push(requestEvent(told.actor, 'deleted', request));
    return true;
  }
}
