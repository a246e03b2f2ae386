/**
 * All SQL of approval items as approvers see them: lists, summaries and the conditional state
 * changes of the state machine (`UPDATE … WHERE approval_status = <expected>`), which change a
 * row only if no one else changed it first, on both engines.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/types.js';
import type { FilterNode } from '../../collections/filter.js';
import { applySorters, filterExpression, type Sorter } from '../../collections/query.js';
import { OPEN_ITEM_STATUSES, type ApprovalStatus } from '../../domain/approvals/state.js';
import { APPROVAL_FILTERS } from '../requests/collection.js';
import { toItem, type ApprovalItem, type Exec } from '../requests/repository.js';

/** An item with what the approval lists show of its request. */
export interface ApprovalItemView extends ApprovalItem {
  requesterId: string;
  accountName: string;
}

export interface ApprovalListQuery {
  /** Items whose approver is one of these ids; every item when undefined. */
  approverIds?: readonly string[] | undefined;
  filter?: FilterNode | undefined;
  sorters: readonly Sorter[];
  limit: number;
  offset: number;
}

export class ApprovalRepository {
  constructor(readonly db: Kysely<Database>) {}

  transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  private base(db: Exec, tenantId: string, approverIds: readonly string[] | undefined, filter: FilterNode | undefined) {
    let qb = db
      .selectFrom('approval_items')
      .innerJoin('requests', (j) => j.onRef('requests.tenant_id', '=', 'approval_items.tenant_id').onRef('requests.id', '=', 'approval_items.request_id'))
      .where('approval_items.tenant_id', '=', tenantId);
    if (approverIds) qb = qb.where('approval_items.approver_id', 'in', approverIds.length > 0 ? approverIds : ['']);
    if (filter) qb = qb.where((eb) => filterExpression(eb, filter, APPROVAL_FILTERS));
    return qb;
  }

  private static view(row: Parameters<typeof toItem>[0] & { requester_id: string; account_name: string }): ApprovalItemView {
    return { ...toItem(row), requesterId: row.requester_id, accountName: row.account_name };
  }

  async byId(tenantId: string, id: string, db: Exec = this.db): Promise<ApprovalItemView | undefined> {
    const row = await this.base(db, tenantId, undefined, undefined)
      .selectAll('approval_items')
      .select(['requests.requester_id', 'requests.account_name'])
      .where('approval_items.id', '=', id)
      .executeTakeFirst();
    return row && ApprovalRepository.view(row);
  }

  async list(tenantId: string, query: ApprovalListQuery): Promise<ApprovalItemView[]> {
    const qb = this.base(this.db, tenantId, query.approverIds, query.filter)
      .selectAll('approval_items')
      .select(['requests.requester_id', 'requests.account_name']);
    const rows = await applySorters(qb, query.sorters).limit(query.limit).offset(query.offset).execute();
    return rows.map((r) => ApprovalRepository.view(r));
  }

  async count(tenantId: string, query: Pick<ApprovalListQuery, 'approverIds' | 'filter'>): Promise<number> {
    const row = await this.base(this.db, tenantId, query.approverIds, query.filter)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async countByStatus(tenantId: string, approverIds: readonly string[]): Promise<Partial<Record<ApprovalStatus, number>>> {
    const rows = await this.base(this.db, tenantId, approverIds, undefined)
      .select(['approval_items.approval_status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('approval_items.approval_status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.approval_status, Number(r.n)]));
  }

  /** The current status of an item (inside a decision, to explain a lost race). */
  async statusOf(db: Exec, tenantId: string, id: string): Promise<ApprovalStatus | undefined> {
    const row = await db.selectFrom('approval_items').select('approval_status').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return row?.approval_status;
  }

  /** PENDING → `status` (APPROVED or REJECTED) with the approver's comment; false when it was not PENDING. */
  async decide(
    trx: Transaction<Database>,
    tenantId: string,
    id: string,
    status: ApprovalStatus,
    comment: string | null,
    decidedBy: string,
    now: string,
  ): Promise<boolean> {
    const result = await trx
      .updateTable('approval_items')
      .set({ approval_status: status, comment, decided_by: decidedBy, modified: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('approval_status', '=', 'PENDING')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** NOT_READY → PENDING; the number of items changed. */
  async activate(trx: Transaction<Database>, tenantId: string, ids: readonly string[], now: string): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await trx
      .updateTable('approval_items')
      .set({ approval_status: 'PENDING', modified: now })
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', ids)
      .where('approval_status', '=', 'NOT_READY')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Open (PENDING, NOT_READY) → CANCELLED; the number of items changed. */
  async cancel(trx: Transaction<Database>, tenantId: string, ids: readonly string[], now: string): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await trx
      .updateTable('approval_items')
      .set({ approval_status: 'CANCELLED', modified: now })
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', ids)
      .where('approval_status', 'in', [...OPEN_ITEM_STATUSES])
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}
