/**
 * The steps of the approval state machine that run inside a transaction, shared by request
 * creation, decisions and deletion: each applies one transition with a conditional update, writes
 * its notifications in the same transaction, and adds its events to the transaction's `Told`,
 * which the caller appends to the event log last.
 *
 * Lock order, the same in every transaction that changes a request: the request row first
 * (`lockPending` or `finish`), then its items, then the source row (the record slot), then the
 * record.
 */
import type { Exec } from '../../db/dialect.js';
import { newUuid } from '../../domain/ids.js';
import { fail } from '../../errors/api-error.js';
import type { Member } from '../directory/model.js';
import type { DirectoryService } from '../directory/service.js';
import type { Actor, EventInput } from '../events/model.js';
import {
  NOTIFICATION_KINDS,
  type Person,
  type RequestFacts,
  approvalRequested,
  requestApproved,
  requestRejected,
  requestWithdrawn,
} from '../notifications/messages.js';
import type { NotificationService } from '../notifications/service.js';
import type { NonEmployeeRecord } from '../records/model.js';
import { type RecordService, sourceFull } from '../records/service.js';
import type { ApprovalItem, NonEmployeeRequest } from './model.js';
import { approvalEvent, ended, requestEvent } from './events.js';
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
    private readonly notifications: NotificationService,
    private readonly directory: DirectoryService,
  ) {}

  async person(tenantId: string, identityId: string): Promise<Person | undefined> {
    const identity = await this.directory.identityById(tenantId, identityId);
    return identity && { id: identity.id, alias: identity.alias, name: identity.name };
  }

  /** What the messages about a request say; read before the transaction. */
  async facts(tenantId: string, request: NonEmployeeRequest): Promise<RequestFacts> {
    const requester = (await this.person(tenantId, request.requesterId)) ?? { id: request.requesterId, alias: request.requesterId, name: null };
    return {
      requestId: request.id,
      requester,
      firstName: request.firstName,
      lastName: request.lastName,
      accountName: request.accountName,
      email: request.email,
      startDate: request.startDate,
      endDate: request.endDate,
      source: { id: request.source.id, name: request.source.name },
    };
  }

  private async recipients(trx: Exec, tenantId: string, approver: Member): Promise<string[]> {
    return this.directory.identitiesOf(trx, tenantId, approver);
  }

  /** `item` of `request` became PENDING: tells its approver (every member, for a governance group) that it awaits them. */
  async notifyApprover(
    trx: Exec,
    tenantId: string,
    facts: RequestFacts,
    request: NonEmployeeRequest,
    item: ApprovalItem,
    now: string,
    told: Told,
  ): Promise<void> {
    const recipients = await this.recipients(trx, tenantId, item.approver);
    const entries = recipients.map((r) => approvalRequested(r, facts, { id: item.id, order: item.order, levels: request.items.length }));
    await this.notifications.enqueue(trx, tenantId, entries, now);
    told.events.push(approvalEvent(told.actor, 'requested', { ...item, status: 'PENDING', modified: now }, request));
  }

  /**
   * Last level approved (or no approvers): creates the record, re-checking the accountName and the
   * source's 20,000 limit, and ends the request APPROVED with its completionDate.
   */
  async complete(
    trx: Exec,
    tenantId: string,
    request: NonEmployeeRequest,
    facts: RequestFacts,
    approvedBy: Person | undefined,
    now: string,
    told: Told,
  ): Promise<NonEmployeeRecord> {
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
    await this.notifications.enqueue(trx, tenantId, [requestApproved(facts, record.id, approvedBy)], now);
    const after = ended(request, 'APPROVED', now, record.id);
    told.events.push(requestEvent(told.actor, 'approved', after, { status: { old: 'PENDING', new: 'APPROVED' } }));
    told.events.push({ ...this.records.event(told.actor, 'created', { record }), data: { object: record, requestId: request.id } });
    return record;
  }

  /** A rejection: the request ends REJECTED, the other open items are CANCELLED, the requester hears of it. */
  async reject(
    trx: Exec,
    tenantId: string,
    request: NonEmployeeRequest,
    cancel: readonly string[],
    facts: RequestFacts,
    by: Person | undefined,
    level: number,
    comment: string,
    now: string,
    told: Told,
  ): Promise<void> {
    await this.repo.cancel(trx, tenantId, cancel, now);
    if (!(await this.repo.finish(trx, tenantId, request.id, 'REJECTED', now)))
      throw fail.illegalUpdate(`Non-employee request ${request.id} is no longer PENDING.`);
    await this.notifications.enqueue(trx, tenantId, [requestRejected(facts, by, level, comment)], now);
    told.events.push(requestEvent(told.actor, 'rejected', ended(request, 'REJECTED', now, null), { status: { old: 'PENDING', new: 'REJECTED' } }));
  }

  /**
   * Deletes a request and its items; a record it created stays. A PENDING request is withdrawn
   * first, under its lock: the notices asking its approvers to decide that no sender has tried yet
   * are dropped, and the approvers of its open level who may have been told hear that it was
   * withdrawn. False when there is no such request.
   */
  async remove(trx: Exec, tenantId: string, requestId: string, facts: RequestFacts, by: Person | undefined, now: string, told: Told): Promise<boolean> {
    if (await this.repo.lockPending(trx, tenantId, requestId, now)) {
      const items = (await this.repo.itemsOf(trx, tenantId, [requestId])).get(requestId) ?? [];
      const dropped = new Set(await this.notifications.dropUnsent(trx, tenantId, requestId, NOTIFICATION_KINDS.approvalRequested));
      for (const item of items.filter((i) => i.status === 'PENDING')) {
        const recipients = (await this.recipients(trx, tenantId, item.approver)).filter((r) => !dropped.has(r));
        await this.notifications.enqueue(
          trx,
          tenantId,
          recipients.map((r) => requestWithdrawn(r, facts, by)),
          now,
        );
      }
    }
    // As it was when it went (a PENDING one is locked; the others no longer change).
    const request = await this.repo.byId(trx, tenantId, requestId);
    if (!request || !(await this.repo.delete(trx, tenantId, requestId))) return false;
    told.events.push(requestEvent(told.actor, 'deleted', request));
    return true;
  }
}
