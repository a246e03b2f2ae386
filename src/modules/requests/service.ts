/**
 * Non-employee requests: the rules of SailPoint's request operations (docs/authorization.md). No HTTP; the SQL is in the
 * repositories, the transitions in domain/approvals/state.ts and approvals/workflow.ts.
 *
 * Who may do what (docs/authorization.md):
 * - create: `idn:nesr:create`, the owner of the source, or one of its account managers (directly
 *   or through a governance group);
 * - get: `idn:nesr:read`, the requester, or an account manager of the request's source;
 * - list and summary: `requested-for=me` (or the caller's own id) for anyone: the requests they
 *   made and those in the sources they manage; another identity's id needs `idn:nesr:read`;
 * - delete: `idn:nesr:delete`.
 */
import { fail, assertThat } from '../../errors/api-error.js';
import { hasRight, type Principal } from '../../auth/principal.js';
import { uniqueViolation } from '../../db/errors.js';
import { newId } from '../../auth/secrets.js';
import { isId, normalizeId, nowIso } from '../../domain/ids.js';
import { initialState } from '../../domain/approvals/state.js';
import type { RecordInput } from '../../domain/records/validation.js';
import { parseListFilter, parseSorters } from '../../collections/query.js';
import type { DirectoryService } from '../directory/service.js';
import type { RecordService } from '../records/service.js';
import type { SourceService } from '../sources/service.js';
import type { Notifier } from '../notifications/sender.js';
import { retrying, type ApprovalWorkflow } from '../approvals/workflow.js';
import { REQUEST_FILTERS, REQUEST_SORTS } from './collection.js';
import type { NonEmployeeRequest, RequestRepository, RequestScope } from './repository.js';

export interface ListRequestsParams {
  requestedFor: string;
  filters?: string | undefined;
  sorters?: string | undefined;
  limit: number;
  offset: number;
  count: boolean;
}

export interface RequestSummary {
  approved: number;
  rejected: number;
  pending: number;
  nonEmployeeCount: number;
}

export function conflict(accountName: string) {
  return fail.referenceConflict(`Unable to create Non-Employee because the accountName "${accountName}" is already being used.`, 'accountName');
}

export class RequestService {
  constructor(
    readonly repo: RequestRepository,
    private readonly workflow: ApprovalWorkflow,
    private readonly records: RecordService,
    private readonly sources: SourceService,
    private readonly directory: DirectoryService,
    private readonly notifier: Notifier,
  ) {}

  /** `idn:nesr:create`, or the owner or an account manager of the source the body names. */
  private async authorizeCreate(principal: Principal, rawSourceId: unknown): Promise<void> {
    if (hasRight(principal, 'idn:nesr:create')) return;
    const raw = typeof rawSourceId === 'string' ? rawSourceId.trim() : '';
    const source = isId(raw) ? await this.sources.repo.byId(principal.tenantId, normalizeId(raw)) : undefined;
    if (source && (source.ownerId === principal.identityId || (await this.sources.isAccountManager(principal, source.id)))) return;
    throw fail.forbidden('Creating a non-employee request requires idn:nesr:create, or owning the source, or being one of its account managers.');
  }

  async create(principal: Principal, input: RecordInput): Promise<NonEmployeeRequest> {
    const tenantId = principal.tenantId;
    await this.authorizeCreate(principal, input.sourceId);
    // Exactly the validation of a record: the source's schema attributes, the manager, the dates.
    const { record: value } = await this.records.prepare(tenantId, input);
    const source = await this.sources.find(tenantId, value.sourceId);
    const state = initialState(source.approvers.length);
    const now = nowIso();
    const { sourceId: _sourceId, ...fields } = value;
    const id = newId();
    const request: NonEmployeeRequest = {
      id,
      source: { id: source.id, iscSourceId: source.iscSourceId, name: source.name, description: source.description },
      requesterId: principal.identityId,
      ...fields,
      status: 'PENDING',
      completionDate: null,
      recordId: null,
      items: source.approvers.map((approver, i) => ({
        id: newId(),
        requestId: id,
        order: i + 1,
        approver,
        status: state.items[i]!,
        comment: null,
        decidedBy: null,
        created: now,
        modified: now,
      })),
      created: now,
      modified: now,
    };
    const facts = await this.workflow.facts(tenantId, request);

    await retrying(() =>
      this.repo.transaction(async (trx) => {
        if (await this.repo.recordHasAccountName(trx, tenantId, source.id, value.accountName)) throw conflict(value.accountName);
        try {
          await this.repo.insert(trx, tenantId, request);
        } catch (error) {
          // Another PENDING request of the source has this accountName (partial unique index).
          if (uniqueViolation(error)) throw conflict(value.accountName);
          throw error;
        }
        if (state.request === 'APPROVED') {
          const record = await this.workflow.complete(trx, tenantId, request, facts, undefined, now);
          Object.assign(request, { status: 'APPROVED', completionDate: now, recordId: record.id });
        } else {
          await this.workflow.notifyApprover(trx, tenantId, facts, request.items[0]!, request.items.length, now);
        }
      }),
    );
    this.notifier.wake();
    return request;
  }

  /** The request or a 404; no authorization. */
  async find(tenantId: string, id: string): Promise<NonEmployeeRequest> {
    const request = await this.repo.byId(tenantId, normalizeId(id));
    assertThat(request, () => fail.notFound(`Non-employee request ${id} was not found.`));
    return request;
  }

  async get(principal: Principal, id: string): Promise<NonEmployeeRequest> {
    const request = await this.find(principal.tenantId, id);
    const allowed =
      hasRight(principal, 'idn:nesr:read') ||
      request.requesterId === principal.identityId ||
      (await this.sources.isAccountManager(principal, request.source.id));
    assertThat(allowed, () => fail.forbidden('Reading a request requires idn:nesr:read, having made it, or being an account manager of its source.'));
    return request;
  }

  /** `me` (any case) or the caller's id: the caller; another id: needs `idn:nesr:read`. */
  async scopeFor(principal: Principal, requestedFor: string): Promise<RequestScope> {
    const raw = requestedFor.trim();
    if (raw.toLowerCase() === 'me' || normalizeId(raw) === principal.identityId) {
      return { requesterId: principal.identityId, managerIds: await this.directory.actorIds(principal) };
    }
    assertThat(isId(raw), () => fail.illegalValue('requested-for', `requested-for must be "me" or an identity id, got "${raw}"`));
    assertThat(hasRight(principal, 'idn:nesr:read'), () =>
      fail.forbidden('The requests of another identity require idn:nesr:read; account managers pass requested-for=me.'),
    );
    const identityId = normalizeId(raw);
    return { requesterId: identityId, managerIds: await this.directory.actorIds({ ...principal, identityId }) };
  }

  async list(principal: Principal, params: ListRequestsParams): Promise<{ requests: NonEmployeeRequest[]; total?: number }> {
    const filter = parseListFilter(params.filters, REQUEST_FILTERS);
    const sorters = parseSorters(params.sorters, REQUEST_SORTS);
    const scope = await this.scopeFor(principal, params.requestedFor);
    const requests = await this.repo.list(principal.tenantId, { scope, filter, sorters, limit: params.limit, offset: params.offset });
    const total = params.count ? await this.repo.count(principal.tenantId, { scope, filter }) : undefined;
    return { requests, ...(total !== undefined ? { total } : {}) };
  }

  /** Counts by status of exactly the requests `list` shows for the same requested-for. */
  async summary(principal: Principal, requestedFor: string): Promise<RequestSummary> {
    const scope = await this.scopeFor(principal, requestedFor);
    const { byStatus, records } = await this.repo.summary(principal.tenantId, scope);
    return { approved: byStatus.APPROVED ?? 0, rejected: byStatus.REJECTED ?? 0, pending: byStatus.PENDING ?? 0, nonEmployeeCount: records };
  }

  /**
   * Deletes a request. A PENDING request is withdrawn: it becomes CANCELLED, as do its open
   * approval items, and it is kept (its approvers can still see why their item closed). A request
   * that is no longer PENDING (APPROVED, REJECTED, or CANCELLED by an earlier delete) is removed
   * with its items; a record it created stays.
   */
  async delete(principal: Principal, id: string): Promise<void> {
    assertThat(hasRight(principal, 'idn:nesr:delete'), () => fail.forbidden('Deleting a non-employee request requires idn:nesr:delete.'));
    const tenantId = principal.tenantId;
    const request = await this.find(tenantId, id);
    const facts = await this.workflow.facts(tenantId, request);
    const by = await this.workflow.person(tenantId, principal.identityId);
    const now = nowIso();
    const withdrawn = await retrying(() =>
      this.repo.transaction(async (trx) => {
        if (request.status === 'PENDING' && (await this.workflow.withdraw(trx, tenantId, request.id, facts, by, now))) return true;
        // Not PENDING (any more: a decision may have ended it meanwhile): remove it.
        assertThat(await this.repo.deleteFinished(trx, tenantId, request.id), () => fail.notFound(`Non-employee request ${id} was not found.`));
        return false;
      }),
    );
    if (withdrawn) this.notifier.wake();
  }
}
