/**
 * Approvals: the rules of SailPoint's approval operations (docs/authorization.md), and the decisions of the state machine
 * (domain/approvals/state.ts). No HTTP; the SQL is in the repositories.
 *
 * Who may do what (docs/authorization.md):
 * - list and summary: anyone for their own items (`requested-for=me`, their id, or, for list,
 *   nothing); another identity's items, or every item (list without requested-for), need
 *   `idn:nesr:read`. "Their items": the approver is the identity or one of its governance groups;
 * - get: `idn:nesr:read`, or the approver of the item;
 * - approve and reject: only the approver named on the item (the identity, or a member of the
 *   governance group); anyone else, org admins included, gets 403.
 *
 * A decision runs in one transaction: lock the request (conditional on PENDING), plan from the
 * items read under that lock, decide the item (conditional on PENDING), then activate the next
 * level, or complete (the record) or reject the request, with the notifications. Of two racers on
 * one item exactly one wins; the other gets 400.1.3.
 */
import { fail, assertThat, type ApiError } from '../../errors/api-error.js';
import { hasRight, type Principal } from '../../auth/principal.js';
import { isId, normalizeId, nowIso } from '../../domain/ids.js';
import { notDecidable, planDecision, type ApprovalStatus, type Decision } from '../../domain/approvals/state.js';
import { parseListFilter, parseSorters } from '../../collections/query.js';
import type { DirectoryService } from '../directory/service.js';
import type { SchemaAttribute, SchemaAttributeRepository } from '../schema-attributes/repository.js';
import type { Notifier } from '../notifications/sender.js';
import { APPROVAL_FILTERS, APPROVAL_SORTS } from '../requests/collection.js';
import type { NonEmployeeRequest } from '../requests/repository.js';
import type { ApprovalItemView, ApprovalRepository } from './repository.js';
import { retrying, type ApprovalWorkflow } from './workflow.js';

export interface ListApprovalsParams {
  requestedFor?: string | undefined;
  filters?: string | undefined;
  sorters?: string | undefined;
  limit: number;
  offset: number;
  count: boolean;
}

export interface ApprovalDetail {
  item: ApprovalItemView;
  request?: NonEmployeeRequest;
  schemaAttributes?: SchemaAttribute[];
}

export class ApprovalService {
  constructor(
    readonly repo: ApprovalRepository,
    private readonly workflow: ApprovalWorkflow,
    private readonly attributes: SchemaAttributeRepository,
    private readonly directory: DirectoryService,
    private readonly notifier: Notifier,
  ) {}

  /** The approver ids `requested-for` stands for; undefined: every item (`idn:nesr:read`, no requested-for). */
  async approverIdsFor(principal: Principal, requestedFor: string | undefined, required: boolean): Promise<string[] | undefined> {
    const raw = (requestedFor ?? '').trim();
    if (raw === '' && !required && hasRight(principal, 'idn:nesr:read')) return undefined;
    if (raw === '' || raw.toLowerCase() === 'me' || normalizeId(raw) === principal.identityId) return this.directory.actorIds(principal);
    assertThat(isId(raw), () => fail.illegalValue('requested-for', `requested-for must be "me" or an identity id, got "${raw}"`));
    assertThat(hasRight(principal, 'idn:nesr:read'), () =>
      fail.forbidden('The approvals of another identity require idn:nesr:read; approvers pass requested-for=me.'),
    );
    return this.directory.actorIds({ ...principal, identityId: normalizeId(raw) });
  }

  async list(principal: Principal, params: ListApprovalsParams): Promise<{ items: ApprovalItemView[]; total?: number }> {
    const filter = parseListFilter(params.filters, APPROVAL_FILTERS);
    const sorters = parseSorters(params.sorters, APPROVAL_SORTS);
    const approverIds = await this.approverIdsFor(principal, params.requestedFor, false);
    const items = await this.repo.list(principal.tenantId, { approverIds, filter, sorters, limit: params.limit, offset: params.offset });
    const total = params.count ? await this.repo.count(principal.tenantId, { approverIds, filter }) : undefined;
    return { items, ...(total !== undefined ? { total } : {}) };
  }

  /** Counts by status of exactly the items `list` shows for the same requested-for. */
  async summary(principal: Principal, requestedFor: string): Promise<{ approved: number; pending: number; rejected: number }> {
    const approverIds = (await this.approverIdsFor(principal, requestedFor, true))!;
    const counts = await this.repo.countByStatus(principal.tenantId, approverIds);
    return { approved: counts.APPROVED ?? 0, pending: counts.PENDING ?? 0, rejected: counts.REJECTED ?? 0 };
  }

  private async find(tenantId: string, id: string): Promise<ApprovalItemView> {
    const item = await this.repo.byId(tenantId, normalizeId(id));
    assertThat(item, () => fail.notFound(`Non-employee approval item ${id} was not found.`));
    return item;
  }

  private async isApprover(principal: Principal, item: ApprovalItemView): Promise<boolean> {
    return (await this.directory.actorIds(principal)).includes(item.approver.id);
  }

  async get(principal: Principal, id: string, includeDetail: boolean): Promise<ApprovalDetail> {
    const item = await this.find(principal.tenantId, id);
    const allowed = hasRight(principal, 'idn:nesr:read') || (await this.isApprover(principal, item));
    assertThat(allowed, () => fail.forbidden('Reading an approval item requires idn:nesr:read, or being its approver.'));
    if (!includeDetail) return { item };
    const request = await this.workflow.requests.byId(principal.tenantId, item.requestId);
    assertThat(request, () => fail.notFound(`Non-employee approval item ${id} was not found.`));
    return { item, request, schemaAttributes: await this.attributes.list(principal.tenantId, request.source.id) };
  }

  approve(principal: Principal, id: string, comment: string | undefined): Promise<ApprovalItemView> {
    return this.decide(principal, id, 'approve', comment !== undefined && comment.trim() !== '' ? comment.trim() : null);
  }

  reject(principal: Principal, id: string, comment: string): Promise<ApprovalItemView> {
    assertThat(comment.trim() !== '', () => fail.missing('comment'));
    return this.decide(principal, id, 'reject', comment.trim());
  }

  private async lostRace(db: Parameters<ApprovalRepository['statusOf']>[0], tenantId: string, id: string): Promise<ApiError> {
    const status: ApprovalStatus | undefined = await this.repo.statusOf(db, tenantId, id);
    return status ? notDecidable(id, status) : fail.notFound(`Non-employee approval item ${id} was not found.`);
  }

  private async decide(principal: Principal, rawId: string, decision: Decision, comment: string | null): Promise<ApprovalItemView> {
    const tenantId = principal.tenantId;
    const item = await this.find(tenantId, rawId);
    const id = item.id;
    assertThat(await this.isApprover(principal, item), () => fail.forbidden(`Only the approver of approval item ${id} may ${decision} it.`));
    if (item.status !== 'PENDING') throw notDecidable(id, item.status);
    const request = await this.workflow.requests.byId(tenantId, item.requestId);
    assertThat(request, () => fail.notFound(`Non-employee approval item ${rawId} was not found.`));
    const facts = await this.workflow.facts(tenantId, request);
    const me = await this.workflow.person(tenantId, principal.identityId);

    // The decided item is read inside the transaction: once it commits, a concurrent delete of the
    // (no longer pending) request may remove it before a later read.
    const decided = await retrying(() =>
      this.repo.transaction(async (trx) => {
        const now = nowIso();
        // The request's row first: every writer of this request's state waits here for the others.
        if (!(await this.workflow.requests.lockPending(trx, tenantId, request.id, now))) throw await this.lostRace(trx, tenantId, id);
        const items = (await this.workflow.requests.itemsOf(trx, tenantId, [request.id])).get(request.id) ?? [];
        const plan = planDecision(items, id, decision);
        if (!(await this.repo.decide(trx, tenantId, id, plan.decided, comment, principal.identityId, now))) throw await this.lostRace(trx, tenantId, id);
        if (plan.requestEvent === 'complete') {
          await this.workflow.complete(trx, tenantId, request, facts, me, now);
        } else if (plan.requestEvent === 'reject') {
          await this.workflow.reject(trx, tenantId, request, plan.cancel, facts, me, item.order, comment ?? '', now);
        } else {
          await this.repo.activate(trx, tenantId, plan.activate, now);
          for (const next of items.filter((i) => plan.activate.includes(i.id)))
            await this.workflow.notifyApprover(trx, tenantId, facts, next, items.length, now);
        }
        return (await this.repo.byId(tenantId, id, trx))!;
      }),
    );
    this.notifier.wake();
    return decided;
  }
}
