/**
 * All SQL of non-employee requests and their approval items. The state changes of the state
 * machine are conditional updates (`UPDATE … WHERE approval_status = <expected>`): they change a
 * row only if no one else changed it first, on both engines.
 */
import type { FilterNode } from '../../collections/filter.js';
import { applySorters, filterExpression, type Sorter } from '../../collections/query.js';
import type { Exec } from '../../db/dialect.js';
import { idSpellings } from '../../domain/ids.js';
import { APPROVAL_FILTERS, REQUEST_FILTERS } from './collection.js';
import {
  type ApprovalItem,
  type ApprovalItemView,
  type NonEmployeeRequest,
  type RequestRow,
  toItem,
  toItemRow,
  toItemView,
  toRequest,
  toRequestRow,
} from './model.js';
import { type ApprovalStatus, OPEN_ITEM_STATUSES, type RequestStatus } from './state.js';

/** Whose requests: made by `requesterId`, or in one of the sources `sourceIds` (those they manage). */
export interface RequestScope {
  requesterId: string;
  sourceIds: readonly string[];
}

export interface RequestListQuery {
  scope: RequestScope;
  filter?: FilterNode | undefined;
  sorters: readonly Sorter[];
  limit: number;
  offset: number;
}

export interface ItemListQuery {
  /** Items whose approver is one of these ids; every item when undefined. */
  approverIds?: readonly string[] | undefined;
  filter?: FilterNode | undefined;
  sorters: readonly Sorter[];
  limit: number;
  offset: number;
}

const orNone = (ids: readonly string[]) => (ids.length > 0 ? ids : ['']);

export class RequestRepository {
  // Requests -----------------------------------------------------------------------------------

  private requests(db: Exec, tenantId: string) {
    return db
      .selectFrom('requests')
      .innerJoin('sources', (j) => j.onRef('sources.tenant_id', '=', 'requests.tenant_id').onRef('sources.id', '=', 'requests.source_id'))
      .where('requests.tenant_id', '=', tenantId);
  }

  private scoped(db: Exec, tenantId: string, scope: RequestScope, filter: FilterNode | undefined) {
    let qb = this.requests(db, tenantId).where((eb) =>
      eb.or([eb('requests.requester_id', '=', scope.requesterId), eb('requests.source_id', 'in', orNone(scope.sourceIds))]),
    );
    if (filter) qb = qb.where((eb) => filterExpression(eb, filter, REQUEST_FILTERS));
    return qb;
  }

  private async withItems(db: Exec, tenantId: string, rows: RequestRow[]): Promise<NonEmployeeRequest[]> {
    const items = await this.itemsOf(
      db,
      tenantId,
      rows.map((r) => r.id),
    );
    return rows.map((r) => toRequest(r, items.get(r.id) ?? []));
  }

  private static readonly SOURCE_COLUMNS = ['sources.name as source_name', 'sources.description as source_description', 'sources.isc_source_id'] as const;

  /** The request `id` names, in either spelling. */
  async byId(db: Exec, tenantId: string, id: string): Promise<NonEmployeeRequest | undefined> {
    const row = await this.requests(db, tenantId)
      .selectAll('requests')
      .select(RequestRepository.SOURCE_COLUMNS)
      .where('requests.id', 'in', idSpellings(id))
      .executeTakeFirst();
    return row && (await this.withItems(db, tenantId, [row]))[0];
  }

  async list(db: Exec, tenantId: string, query: RequestListQuery): Promise<NonEmployeeRequest[]> {
    const qb = this.scoped(db, tenantId, query.scope, query.filter).selectAll('requests').select(RequestRepository.SOURCE_COLUMNS);
    const rows = await applySorters(qb, query.sorters).limit(query.limit).offset(query.offset).execute();
    return this.withItems(db, tenantId, rows);
  }

  async count(db: Exec, tenantId: string, query: Pick<RequestListQuery, 'scope' | 'filter'>): Promise<number> {
    const row = await this.scoped(db, tenantId, query.scope, query.filter)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async countByStatus(db: Exec, tenantId: string, scope: RequestScope): Promise<Partial<Record<RequestStatus, number>>> {
    const rows = await this.scoped(db, tenantId, scope, undefined)
      .select(['requests.approval_status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('requests.approval_status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.approval_status, Number(r.n)]));
  }

  /** Inserts a request and its items. A second PENDING request of the accountName violates a unique index. */
  async insert(db: Exec, tenantId: string, request: NonEmployeeRequest): Promise<void> {
    await db.insertInto('requests').values(toRequestRow(tenantId, request)).execute();
    if (request.items.length === 0) return;
    await db
      .insertInto('approval_items')
      .values(request.items.map((i) => toItemRow(tenantId, i)))
      .execute();
  }

  /**
   * Locks a PENDING request for a state change (every writer of a request's state takes this row
   * first, so they are ordered); false when it is not PENDING (any more).
   */
  async lockPending(db: Exec, tenantId: string, id: string, now: string): Promise<boolean> {
    const result = await db
      .updateTable('requests')
      .set({ modified: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('approval_status', '=', 'PENDING')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Ends a PENDING request; false when it is not PENDING. */
  async finish(db: Exec, tenantId: string, id: string, status: RequestStatus, now: string, recordId: string | null = null): Promise<boolean> {
    const result = await db
      .updateTable('requests')
      .set({ approval_status: status, modified: now, completion_date: status === 'APPROVED' ? now : null, record_id: recordId })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('approval_status', '=', 'PENDING')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Removes a request with its items (the foreign key cascades); false when there is none. */
  async delete(db: Exec, tenantId: string, id: string): Promise<boolean> {
    const result = await db.deleteFrom('requests').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  // Approval items ----------------------------------------------------------------------------

  /** The items of these requests, by request, in approval order. */
  async itemsOf(db: Exec, tenantId: string, requestIds: readonly string[]): Promise<Map<string, ApprovalItem[]>> {
    const out = new Map<string, ApprovalItem[]>(requestIds.map((id) => [id, []]));
    if (requestIds.length === 0) return out;
    const rows = await db
      .selectFrom('approval_items')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('request_id', 'in', requestIds)
      .orderBy('request_id')
      .orderBy('approval_order')
      .execute();
    for (const row of rows) out.get(row.request_id)?.push(toItem(row));
    return out;
  }

  private items(db: Exec, tenantId: string, approverIds: readonly string[] | undefined, filter: FilterNode | undefined) {
    let qb = db
      .selectFrom('approval_items')
      .innerJoin('requests', (j) => j.onRef('requests.tenant_id', '=', 'approval_items.tenant_id').onRef('requests.id', '=', 'approval_items.request_id'))
      .where('approval_items.tenant_id', '=', tenantId);
    if (approverIds) qb = qb.where('approval_items.approver_id', 'in', orNone(approverIds));
    if (filter) qb = qb.where((eb) => filterExpression(eb, filter, APPROVAL_FILTERS));
    return qb;
  }

  /** The approval item `id` names, in either spelling. */
  async itemById(db: Exec, tenantId: string, id: string): Promise<ApprovalItemView | undefined> {
    const row = await this.items(db, tenantId, undefined, undefined)
      .selectAll('approval_items')
      .select(['requests.requester_id', 'requests.account_name'])
      .where('approval_items.id', 'in', idSpellings(id))
      .executeTakeFirst();
    return row && toItemView(row);
  }

  async listItems(db: Exec, tenantId: string, query: ItemListQuery): Promise<ApprovalItemView[]> {
    const qb = this.items(db, tenantId, query.approverIds, query.filter).selectAll('approval_items').select(['requests.requester_id', 'requests.account_name']);
    const rows = await applySorters(qb, query.sorters).limit(query.limit).offset(query.offset).execute();
    return rows.map(toItemView);
  }

  async countItems(db: Exec, tenantId: string, query: Pick<ItemListQuery, 'approverIds' | 'filter'>): Promise<number> {
    const row = await this.items(db, tenantId, query.approverIds, query.filter)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async countItemsByStatus(db: Exec, tenantId: string, approverIds: readonly string[]): Promise<Partial<Record<ApprovalStatus, number>>> {
    const rows = await this.items(db, tenantId, approverIds, undefined)
      .select(['approval_items.approval_status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('approval_items.approval_status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.approval_status, Number(r.n)]));
  }

  /** The current status of an item (inside a decision, to explain a lost race). */
  async itemStatus(db: Exec, tenantId: string, id: string): Promise<ApprovalStatus | undefined> {
    const row = await db.selectFrom('approval_items').select('approval_status').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return row?.approval_status;
  }

  /** PENDING → `status` (APPROVED or REJECTED) with the approver's comment; false when it was not PENDING. */
  async decide(db: Exec, tenantId: string, id: string, status: ApprovalStatus, comment: string | null, decidedBy: string, now: string): Promise<boolean> {
    const result = await db
      .updateTable('approval_items')
      .set({ approval_status: status, comment, decided_by: decidedBy, modified: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('approval_status', '=', 'PENDING')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** NOT_READY → PENDING; the number of items changed. */
  async activate(db: Exec, tenantId: string, ids: readonly string[], now: string): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await db
      .updateTable('approval_items')
      .set({ approval_status: 'PENDING', modified: now })
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', ids)
      .where('approval_status', '=', 'NOT_READY')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Open (PENDING, NOT_READY) → CANCELLED; the number of items changed. */
  async cancel(db: Exec, tenantId: string, ids: readonly string[], now: string): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await db
      .updateTable('approval_items')
      .set({ approval_status: 'CANCELLED', modified: now })
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', ids)
      .where('approval_status', 'in', [...OPEN_ITEM_STATUSES])
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}
