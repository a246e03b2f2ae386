/**
 * Non-employee requests: the rules of SailPoint's request operations (docs/authorization.md). No
 * HTTP; the SQL is in the repository, the transitions in state.ts and workflow.ts.
 *
 * Who may do what:
 * - create: `idn:nesr:create`, the owner of the source, or one of its account managers (directly
 *   or through a governance group);
 * - get: `idn:nesr:read`, the requester, or the owner or an account manager of the request's source;
 * - list and summary: `requested-for=me` (or the caller's own id) for anyone: the requests they
 *   made and those in the sources they own or are an account manager of; another identity's id
 *   needs `idn:nesr:read`;
 * - delete: `idn:nesr:delete`.
 */
import type { Kysely } from 'kysely';
import { hasRight, type Principal, requestedIdentity } from '../../auth/principal.js';
import { parseListFilter, parseSorters } from '../../collections/query.js';
import { transaction } from '../../db/dialect.js';
import { uniqueViolation } from '../../db/errors.js';
import type { Database } from '../../db/types.js';
import { type Clock, isoOf, systemClock } from '../../domain/clock.js';
import { newUuid } from '../../domain/ids.js';
import { controlCharacterProblem } from '../../domain/text.js';
import { assertThat, fail } from '../../errors/api-error.js';
import type { DirectoryService } from '../directory/service.js';
import { actorOf } from '../events/model.js';
import type { EventLog } from '../events/service.js';
import type { RecordService } from '../records/service.js';
import type { RecordInput } from '../records/validation.js';
import type { SourceService } from '../sources/service.js';
import { REQUEST_FILTERS, REQUEST_SORTS } from './collection.js';
import type { NonEmployeeRequest } from './model.js';
import type { RequestRepository, RequestScope } from './repository.js';
import { initialState } from './state.js';
import { requestEvent } from './events.js';
import type { ApprovalWorkflow, Told } from './workflow.js';

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

const taken = (accountName: string) =>
  fail.referenceConflict(`Unable to create Non-Employee because the accountName "${accountName}" is already being used.`, 'accountName');

export class RequestService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly repo: RequestRepository,
    private readonly workflow: ApprovalWorkflow,
    private readonly records: RecordService,
    private readonly sources: SourceService,
    private readonly directory: DirectoryService,
    private readonly events: EventLog,
    /** When requests are filed and their items become PENDING (the lifecycle's approval reminders count from it). */
    private readonly clock: Clock = systemClock,
  ) {}

  /** `idn:nesr:create`, or the owner or an account manager of the source the body names. */
  private async authorizeCreate(principal: Principal, rawSourceId: unknown): Promise<void> {
    if (hasRight(principal, 'idn:nesr:create')) return;
    const source = await this.sources.named(principal.tenantId, rawSourceId);
    if (source && (await this.sources.isOwnerOrAccountManager(principal, source.id))) return;
    throw fail.forbidden('Creating a non-employee request requires idn:nesr:create, or owning the source, or being one of its account managers.');
  }

  async create(principal: Principal, input: RecordInput): Promise<NonEmployeeRequest> {
    const tenantId = principal.tenantId;
    await this.authorizeCreate(principal, input.sourceId);
    // The requester's comment may span lines; the record's fields are single lines (validation.ts).
    const commentProblem = typeof input.comment === 'string' ? controlCharacterProblem('comment', input.comment, 'multi-line') : undefined;
    assertThat(commentProblem === undefined, () => fail.invalid([{ field: 'comment', text: commentProblem! }]));
    // Exactly the validation of a record: the source's schema attributes, the manager, the dates.
    const { record: value, source } = await this.records.prepare(tenantId, input);
    const state = initialState(source.approvers.length);
    const now = isoOf(this.clock);
    const { sourceId: _sourceId, ...fields } = value;
    const comment = typeof input.comment === 'string' ? input.comment.trim() : '';
    const id = newUuid();
    const request: NonEmployeeRequest = {
      id,
      source: { id: source.id, iscSourceId: source.iscSourceId, name: source.name, description: source.description },
      requesterId: principal.identityId,
      ...fields,
      status: 'PENDING',
      comment: comment === '' ? null : comment,
      completionDate: null,
      recordId: null,
      items: source.approvers.map((approver, i) => ({
        id: newUuid(),
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
    const created = await transaction(this.db, async (trx) => {
      const told: Told = { actor: actorOf(principal), events: [requestEvent(actorOf(principal), 'created', request)] };
      if (await this.records.accountNameTaken(trx, tenantId, source.id, value.accountName)) throw taken(value.accountName);
      try {
        await this.repo.insert(trx, tenantId, request);
      } catch (error) {
        // Another PENDING request of the source has this accountName (partial unique index).
        if (uniqueViolation(error)) throw taken(value.accountName);
        throw error;
      }
      let result = request;
      if (state.request !== 'APPROVED') {
        this.workflow.requested(request, request.items[0]!, now, told);
      } else {
        const record = await this.workflow.complete(trx, tenantId, request, now, told);
        result = { ...request, status: 'APPROVED' as const, completionDate: now, recordId: record.id };
      }
      await this.events.append(trx, tenantId, told.events);
      return result;
    });
    return created;
  }

  /** The request or a 404; no authorization. */
  async find(tenantId: string, id: string): Promise<NonEmployeeRequest> {
    const request = await this.repo.byId(this.db, tenantId, id);
    assertThat(request, () => fail.notFound(`Non-employee request ${id} was not found.`));
    return request;
  }

  async get(principal: Principal, id: string): Promise<NonEmployeeRequest> {
    const request = await this.find(principal.tenantId, id);
    const allowed =
      hasRight(principal, 'idn:nesr:read') ||
      request.requesterId === principal.identityId ||
      (await this.sources.isOwnerOrAccountManager(principal, request.source.id));
    assertThat(allowed, () =>
      fail.forbidden('Reading a request requires idn:nesr:read, having made it, or being the owner or an account manager of its source.'),
    );
    return request;
  }

  /** `me` (any case) or the caller's id: the caller; another id: needs `idn:nesr:read`. */
  private async scopeFor(principal: Principal, requestedFor: string): Promise<{ scope: RequestScope; actorIds: string[] }> {
    const { self, identityId } = requestedIdentity(principal, requestedFor);
    assertThat(self || hasRight(principal, 'idn:nesr:read'), () =>
      fail.forbidden('The requests of another identity require idn:nesr:read; account managers pass requested-for=me.'),
    );
    const actorIds = await this.directory.actorIds({ tenantId: principal.tenantId, identityId });
    return { scope: { requesterId: identityId, sourceIds: await this.sources.sourceIds(principal.tenantId, actorIds) }, actorIds };
  }

  async list(principal: Principal, params: ListRequestsParams): Promise<{ requests: NonEmployeeRequest[]; total?: number }> {
    const filter = await this.sources.resolveSourceFilter(principal.tenantId, parseListFilter(params.filters, REQUEST_FILTERS));
    const sorters = parseSorters(params.sorters, REQUEST_SORTS);
    const { scope } = await this.scopeFor(principal, params.requestedFor);
    const requests = await this.repo.list(this.db, principal.tenantId, { scope, filter, sorters, limit: params.limit, offset: params.offset });
    if (!params.count) return { requests };
    return { requests, total: await this.repo.count(this.db, principal.tenantId, { scope, filter }) };
  }

  /** Counts by status of exactly the requests `list` shows for the same requested-for, and the records of the sources it manages. */
  async summary(principal: Principal, requestedFor: string): Promise<RequestSummary> {
    const { scope, actorIds } = await this.scopeFor(principal, requestedFor);
    const byStatus = await this.repo.countByStatus(this.db, principal.tenantId, scope);
    const nonEmployeeCount = await this.records.countManagedBy(principal.tenantId, actorIds);
    return { approved: byStatus.APPROVED ?? 0, rejected: byStatus.REJECTED ?? 0, pending: byStatus.PENDING ?? 0, nonEmployeeCount };
  }

  /**
   * Deletes a request, whatever its status, with its approval items: GET then answers 404 and no
   * list shows it. A record it created stays. A PENDING request is withdrawn as it goes
   * (workflow.remove): its approvers hear of it instead of being asked to decide.
   */
  async delete(principal: Principal, id: string): Promise<void> {
    assertThat(hasRight(principal, 'idn:nesr:delete'), () => fail.forbidden('Deleting a non-employee request requires idn:nesr:delete.'));
    const tenantId = principal.tenantId;
    const request = await this.find(tenantId, id);
    const removed = await transaction(this.db, async (trx) => {
      const told: Told = { actor: actorOf(principal), events: [] };
      if (!(await this.workflow.remove(trx, tenantId, request.id, isoOf(this.clock), told))) return false;
      await this.events.append(trx, tenantId, told.events);
      return true;
    });
    assertThat(removed, () => fail.notFound(`Non-employee request ${id} was not found.`));
  }
}
