/**
 * The steps of the approval state machine that run inside a transaction, shared by request
 * creation, decisions and withdrawal: each applies one transition with a conditional update and
 * writes its notifications into the outbox in the same transaction.
 *
 * Lock order, the same in every transaction that changes a request: the request row first
 * (`lockPending` or `finish`), then its items, then the source row (the record slot), then the
 * record. No directory or other non-transaction query runs inside (on SQLite the transaction
 * holds the only connection).
 */
import type { Transaction } from 'kysely';
import type { Database } from '../../db/types.js';
import { fail } from '../../errors/api-error.js';
import { isRetryable } from '../../db/errors.js';
import { LIMITS } from '../../domain/limits.js';
import { newId } from '../../auth/secrets.js';
import { planWithdrawal } from '../../domain/approvals/state.js';
import type { DirectoryService } from '../directory/service.js';
import type { RecordService } from '../records/service.js';
import type { NonEmployeeRecord } from '../records/repository.js';
import type { NotificationRepository } from '../notifications/repository.js';
import { approvalRequested, requestApproved, requestRejected, requestWithdrawn, type Person, type RequestFacts } from '../notifications/messages.js';
import type { ApprovalItem, NonEmployeeRequest, RequestRepository } from '../requests/repository.js';
import type { ApprovalRepository } from './repository.js';

type Trx = Transaction<Database>;

/** Runs a transaction again when PostgreSQL aborts it as a deadlock or serialization victim. */
export async function retrying<T>(work: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error;
    }
  }
}

export class ApprovalWorkflow {
  constructor(
    readonly requests: RequestRepository,
    readonly items: ApprovalRepository,
    private readonly records: RecordService,
    private readonly outbox: NotificationRepository,
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

  /** Tells the approver of `item` (every member, for a governance group) that it awaits them. */
  async notifyApprover(trx: Trx, tenantId: string, facts: RequestFacts, item: ApprovalItem, levels: number, now: string): Promise<void> {
    const recipients = await this.outbox.identitiesOf(trx, tenantId, item.approver);
    await this.outbox.enqueue(
      trx,
      tenantId,
      recipients.map((r) => approvalRequested(r, facts, { id: item.id, order: item.order, levels })),
      now,
    );
  }

  /**
   * Last level approved (or no approvers): creates the record, re-checking the accountName and the
   * source's 20,000 limit, and ends the request APPROVED with its completionDate.
   */
  async complete(
    trx: Trx,
    tenantId: string,
    request: NonEmployeeRequest,
    facts: RequestFacts,
    approvedBy: Person | undefined,
    now: string,
  ): Promise<NonEmployeeRecord> {
    const record: NonEmployeeRecord = {
      id: newId(),
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
    if (!(await this.requests.finish(trx, tenantId, request.id, 'APPROVED', now, record.id))) {
      throw fail.illegalUpdate(`Non-employee request ${request.id} is no longer PENDING.`);
    }
    await this.records.conflictsAsErrors(request.accountName, 'create', async () => {
      if (!(await this.records.repo.reserveSlots(trx, tenantId, request.source.id, 1, LIMITS.recordsPerSource))) {
        throw fail.limitViolation(`A non-employee source can hold at most ${LIMITS.recordsPerSource} records.`);
      }
      await this.records.repo.insert(trx, tenantId, record);
    });
    await this.outbox.enqueue(trx, tenantId, [requestApproved(facts, record.id, approvedBy)], now);
    return record;
  }

  /** A rejection: the request ends REJECTED, the other open items are CANCELLED, the requester hears of it. */
  async reject(
    trx: Trx,
    tenantId: string,
    request: NonEmployeeRequest,
    cancel: readonly string[],
    facts: RequestFacts,
    by: Person | undefined,
    level: number,
    comment: string,
    now: string,
  ): Promise<void> {
    await this.items.cancel(trx, tenantId, cancel, now);
    if (!(await this.requests.finish(trx, tenantId, request.id, 'REJECTED', now))) {
      throw fail.illegalUpdate(`Non-employee request ${request.id} is no longer PENDING.`);
    }
    await this.outbox.enqueue(trx, tenantId, [requestRejected(facts, by, level, comment)], now);
  }

  /**
   * Withdraws a PENDING request: CANCELLED with its open items (read again under the request's
   * lock); the approvers of the PENDING level hear of it. False when it is not PENDING.
   */
  async withdraw(trx: Trx, tenantId: string, requestId: string, facts: RequestFacts, by: Person | undefined, now: string): Promise<boolean> {
    if (!(await this.requests.finish(trx, tenantId, requestId, 'CANCELLED', now))) return false;
    const items = (await this.requests.itemsOf(trx, tenantId, [requestId])).get(requestId) ?? [];
    const plan = planWithdrawal(items);
    await this.items.cancel(trx, tenantId, plan.cancel, now);
    for (const item of items.filter((i) => i.status === 'PENDING')) {
      const recipients = await this.outbox.identitiesOf(trx, tenantId, item.approver);
      await this.outbox.enqueue(
        trx,
        tenantId,
        recipients.map((r) => requestWithdrawn(r, facts, by)),
        now,
      );
    }
    return true;
  }
}
