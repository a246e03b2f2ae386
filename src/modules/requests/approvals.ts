/**
 * Approvals: the rules of SailPoint's approval operations (docs/authorization.md), and the
 * decisions of the state machine. A decision runs in one transaction: lock the request
 * (conditional on PENDING), plan from the items read under that lock, decide the item
 * (conditional on PENDING), then activate the next level, or complete (the record) or reject the
 * request, with their events (which the mails follow). Of two racers on one item exactly one wins; the other gets
 * 400.1.3.
 *
 * Who may do what: list and get `idn:nesr:read`, or the approver (`requested-for=me`); approve and
 * reject only the approver named on the item (an identity, or a member of a governance group).
 * The lifecycle's escalation and override endpoints decide through `decideAs`, with their own rule
 * of who may act, the same transaction, and the same events marked with `decidedAs`.
 */
import type { Kysely } from 'kysely';
import { hasRight, type Principal, requestedIdentity } from '../../auth/principal.js';
import { parseListFilter, parseSorters } from '../../collections/query.js';
import { type Exec, transaction } from '../../db/dialect.js';
import type { Database } from '../../db/types.js';
import { type Clock, isoOf, systemClock } from '../../domain/clock.js';
import { controlCharacterProblem } from '../../domain/text.js';
import { type ApiError, assertThat, fail } from '../../errors/api-error.js';
import type { DirectoryService } from '../directory/service.js';
import { actorOf } from '../events/model.js';
import type { EventLog } from '../events/service.js';
import type { SchemaAttribute } from '../schema-attributes/model.js';
import type { SchemaAttributeService } from '../schema-attributes/service.js';
import { APPROVAL_FILTERS, APPROVAL_SORTS } from './collection.js';
import type { ApprovalItemView, NonEmployeeRequest } from './model.js';
import type { RequestRepository } from './repository.js';
import { type Decision, notDecidable, planDecision } from './state.js';
import { approvalEvent } from './events.js';
import type { ApprovalWorkflow, Told } from './workflow.js';

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

/** Who decided in place of the approver: the source's owner after an escalation, or an org admin. */
export type DecidedAs = 'escalation' | 'override';

const itemNotFound = (id: string) => () => fail.notFound(`Non-employee approval item ${id} was not found.`);

/** An approver's comment may span lines, and holds no other control character. */
function checkComment(comment: string | undefined): void {
  const problem = comment === undefined ? undefined : controlCharacterProblem('comment', comment, 'multi-line');
  assertThat(problem === undefined, () => fail.invalid([{ field: 'comment', text: problem! }]));
}

export class ApprovalService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly repo: RequestRepository,
    private readonly workflow: ApprovalWorkflow,
    private readonly attributes: SchemaAttributeService,
    private readonly directory: DirectoryService,
    private readonly events: EventLog,
    /** When decisions are made and the next level becomes PENDING (the lifecycle's reminders count from it). */
    private readonly clock: Clock = systemClock,
  ) {}

  /** The approver ids `requested-for` stands for; undefined: every item (`idn:nesr:read`, no requested-for). */
  private async approverIdsFor(principal: Principal, requestedFor: string | undefined, required: boolean): Promise<string[] | undefined> {
    const raw = (requestedFor ?? '').trim();
    if (raw === '' && !required && hasRight(principal, 'idn:nesr:read')) return undefined;
    if (raw === '') return this.directory.actorIds(principal);
    const { self, identityId } = requestedIdentity(principal, raw);
    assertThat(self || hasRight(principal, 'idn:nesr:read'), () =>
      fail.forbidden('The approvals of another identity require idn:nesr:read; approvers pass requested-for=me.'),
    );
    return this.directory.actorIds({ tenantId: principal.tenantId, identityId });
  }

  async list(principal: Principal, params: ListApprovalsParams): Promise<{ items: ApprovalItemView[]; total?: number }> {
    const filter = parseListFilter(params.filters, APPROVAL_FILTERS);
    const sorters = parseSorters(params.sorters, APPROVAL_SORTS);
    const approverIds = await this.approverIdsFor(principal, params.requestedFor, false);
    const items = await this.named(
      principal.tenantId,
      await this.repo.listItems(this.db, principal.tenantId, { approverIds, filter, sorters, limit: params.limit, offset: params.offset }),
    );
    if (!params.count) return { items };
    return { items, total: await this.repo.countItems(this.db, principal.tenantId, { approverIds, filter }) };
  }

  /** Counts by status of exactly the items `list` shows for the same requested-for. */
  async summary(principal: Principal, requestedFor: string): Promise<{ approved: number; pending: number; rejected: number }> {
    const approverIds = (await this.approverIdsFor(principal, requestedFor, true))!;
    const counts = await this.repo.countItemsByStatus(this.db, principal.tenantId, approverIds);
    return { approved: counts.APPROVED ?? 0, pending: counts.PENDING ?? 0, rejected: counts.REJECTED ?? 0 };
  }

  private async find(tenantId: string, id: string): Promise<ApprovalItemView> {
    const item = await this.repo.itemById(this.db, tenantId, id);
    assertThat(item, itemNotFound(id));
    return (await this.named(tenantId, [item]))[0]!;
  }

  /** The items with their requesters' names. */
  private async named(tenantId: string, items: ApprovalItemView[]): Promise<ApprovalItemView[]> {
    if (items.length === 0) return items;
    const names = await this.directory.names(
      tenantId,
      items.map((i) => i.requesterId),
    );
    return items.map((i) => ({ ...i, requesterName: names.get(i.requesterId) ?? null }));
  }

  private async isApprover(principal: Principal, item: ApprovalItemView): Promise<boolean> {
    return (await this.directory.actorIds(principal)).includes(item.approver.id);
  }

  async get(principal: Principal, id: string, includeDetail: boolean): Promise<ApprovalDetail> {
    const item = await this.find(principal.tenantId, id);
    const allowed = hasRight(principal, 'idn:nesr:read') || (await this.isApprover(principal, item));
    assertThat(allowed, () => fail.forbidden('Reading an approval item requires idn:nesr:read, or being its approver.'));
    if (!includeDetail) return { item };
    const request = await this.repo.byId(this.db, principal.tenantId, item.requestId);
    assertThat(request, itemNotFound(id));
    return { item, request, schemaAttributes: await this.attributes.of(principal.tenantId, request.source.id) };
  }

  approve(principal: Principal, id: string, comment: string | undefined): Promise<ApprovalItemView> {
    checkComment(comment);
    return this.decide(principal, id, 'approve', comment !== undefined && comment.trim() !== '' ? comment.trim() : null);
  }

  reject(principal: Principal, id: string, comment: string): Promise<ApprovalItemView> {
    assertThat(comment.trim() !== '', () => fail.invalid([{ field: 'comment', text: 'comment is required' }]));
    checkComment(comment);
    return this.decide(principal, id, 'reject', comment.trim());
  }

  /**
   * Decides an item in place of its approver (see DecidedAs): `allowed` says whether the caller
   * may (403 with `refusal` otherwise); the events carry `decidedAs`.
   */
  decideAs(
    principal: Principal,
    id: string,
    decision: Decision,
    comment: string | null,
    as: DecidedAs,
    allowed: (item: ApprovalItemView) => Promise<boolean>,
    refusal: string,
  ): Promise<ApprovalItemView> {
    if (decision === 'reject') assertThat(comment !== null && comment.trim() !== '', () => fail.invalid([{ field: 'comment', text: 'comment is required' }]));
    checkComment(comment ?? undefined);
    const text = comment !== null && comment.trim() !== '' ? comment.trim() : null;
    return this.decide(principal, id, decision, text, { as, allowed, refusal });
  }

  /** A PENDING item with its request, in the caller's transaction; undefined when it is not PENDING (or gone). */
  async pending(trx: Exec, tenantId: string, id: string): Promise<{ item: ApprovalItemView; request: NonEmployeeRequest } | undefined> {
    const item = await this.repo.itemById(trx, tenantId, id);
    if (item?.status !== 'PENDING') return undefined;
    const request = await this.repo.byId(trx, tenantId, item.requestId);
    return request ? { item, request } : undefined;
  }

  private async lostRace(trx: Exec, tenantId: string, id: string): Promise<ApiError> {
    const status = await this.repo.itemStatus(trx, tenantId, id);
    return status ? notDecidable(id, status) : itemNotFound(id)();
  }

  private async decide(
    principal: Principal,
    rawId: string,
    decision: Decision,
    comment: string | null,
    instead?: { as: DecidedAs; allowed: (item: ApprovalItemView) => Promise<boolean>; refusal: string },
  ): Promise<ApprovalItemView> {
    const tenantId = principal.tenantId;
    const item = await this.find(tenantId, rawId);
    const id = item.id;
    if (instead) assertThat(await instead.allowed(item), () => fail.forbidden(instead.refusal));
    else assertThat(await this.isApprover(principal, item), () => fail.forbidden(`Only the approver of approval item ${id} may ${decision} it.`));
    if (item.status !== 'PENDING') throw notDecidable(id, item.status);
    const request = await this.repo.byId(this.db, tenantId, item.requestId);
    assertThat(request, itemNotFound(rawId));

    // The decided item is read inside the transaction: once it commits, a concurrent delete of the
    // (no longer pending) request may remove it before a later read.
    const decided = await transaction(this.db, async (trx) => {
      const now = isoOf(this.clock);
      // The request's row first: every writer of this request's state waits here for the others.
      if (!(await this.repo.lockPending(trx, tenantId, request.id, now))) throw await this.lostRace(trx, tenantId, id);
      const items = (await this.repo.itemsOf(trx, tenantId, [request.id])).get(request.id) ?? [];
      const plan = planDecision(items, id, decision);
      if (!(await this.repo.decide(trx, tenantId, id, plan.decided, comment, principal.identityId, now))) throw await this.lostRace(trx, tenantId, id);
      const decidedItem = (await this.repo.itemById(trx, tenantId, id))!;
      const current = { ...request, items };
      const told: Told = { actor: actorOf(principal), events: [] };
      const event = approvalEvent(told.actor, decision === 'approve' ? 'approved' : 'rejected', decidedItem, current);
      told.events.push(instead ? { ...event, data: { ...event.data, decidedAs: instead.as } } : event);
      if (plan.requestEvent === 'complete') {
        await this.workflow.complete(trx, tenantId, current, now, told);
      } else if (plan.requestEvent === 'reject') {
        await this.workflow.reject(trx, tenantId, current, plan.cancel, now, told);
      } else {
        await this.repo.activate(trx, tenantId, plan.activate, now);
        for (const next of items.filter((i) => plan.activate.includes(i.id))) this.workflow.requested(current, next, now, told);
      }
      await this.events.append(trx, tenantId, told.events);
      return decidedItem;
    });
    return { ...decided, requesterName: item.requesterName ?? null };
  }
}
