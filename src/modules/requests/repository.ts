/** All SQL of non-employee requests (and the reading and writing of their approval items). */
import type { Kysely, Transaction } from 'kysely';
import type { ApprovalItemTable, Database, PrincipalType, RequestTable } from '../../db/types.js';
import { parseJson } from '../../db/connect.js';
import type { FilterNode } from '../../collections/filter.js';
import { applySorters, filterExpression, type Sorter } from '../../collections/query.js';
import type { ApprovalStatus, RequestStatus } from '../../domain/approvals/state.js';
import { REQUEST_FILTERS } from './collection.js';

export type Exec = Kysely<Database> | Transaction<Database>;

export interface ApprovalItem {
  id: string;
  requestId: string;
  /** 1-based level. */
  order: number;
  approver: { type: PrincipalType; id: string };
  status: ApprovalStatus;
  comment: string | null;
  decidedBy: string | null;
  created: string;
  modified: string;
}

/** The source as a request shows it (NonEmployeeSourceLite). */
export interface RequestSource {
  id: string;
  iscSourceId: string;
  name: string;
  description: string;
}

export interface NonEmployeeRequest {
  id: string;
  source: RequestSource;
  requesterId: string;
  accountName: string;
  firstName: string;
  lastName: string;
  email: string;
  phone: string;
  manager: string;
  startDate: string;
  endDate: string;
  data: Record<string, string>;
  status: RequestStatus;
  completionDate: string | null;
  recordId: string | null;
  items: ApprovalItem[];
  created: string;
  modified: string;
}

/** Whose requests: made by `requesterId`, or in a source one of `managerIds` is an account manager of. */
export interface RequestScope {
  requesterId: string;
  managerIds: readonly string[];
}

export interface RequestListQuery {
  scope: RequestScope;
  filter?: FilterNode | undefined;
  sorters: readonly Sorter[];
  limit: number;
  offset: number;
}

export function toItem(row: ApprovalItemTable): ApprovalItem {
  return {
    id: row.id,
    requestId: row.request_id,
    order: Number(row.approval_order),
    approver: { type: row.approver_type, id: row.approver_id },
    status: row.approval_status,
    comment: row.comment,
    decidedBy: row.decided_by,
    created: row.created,
    modified: row.modified,
  };
}

type RequestRow = RequestTable & { source_name: string; source_description: string; isc_source_id: string };

function toRequest(row: RequestRow, items: ApprovalItem[]): NonEmployeeRequest {
  return {
    id: row.id,
    source: { id: row.source_id, iscSourceId: row.isc_source_id, name: row.source_name, description: row.source_description },
    requesterId: row.requester_id,
    accountName: row.account_name,
    firstName: row.first_name,
    lastName: row.last_name,
    email: row.email,
    phone: row.phone,
    manager: row.manager,
    startDate: row.start_date,
    endDate: row.end_date,
    data: parseJson<Record<string, string>>(row.data) ?? {},
    status: row.approval_status as RequestStatus,
    completionDate: row.completion_date,
    recordId: row.record_id,
    items,
    created: row.created,
    modified: row.modified,
  };
}

export class RequestRepository {
  constructor(readonly db: Kysely<Database>) {}

  transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  private base(db: Exec, tenantId: string) {
    return db
      .selectFrom('requests')
      .innerJoin('sources', (j) => j.onRef('sources.tenant_id', '=', 'requests.tenant_id').onRef('sources.id', '=', 'requests.source_id'))
      .where('requests.tenant_id', '=', tenantId);
  }

  private withSource<QB extends ReturnType<RequestRepository['base']>>(qb: QB) {
    return qb.selectAll('requests').select(['sources.name as source_name', 'sources.description as source_description', 'sources.isc_source_id']);
  }

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

  async byId(tenantId: string, id: string, db: Exec = this.db): Promise<NonEmployeeRequest | undefined> {
    const row = await this.withSource(this.base(db, tenantId)).where('requests.id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    return toRequest(row as RequestRow, (await this.itemsOf(db, tenantId, [id])).get(id) ?? []);
  }

  private scoped(tenantId: string, scope: RequestScope, filter: FilterNode | undefined) {
    let qb = this.base(this.db, tenantId).where((eb) =>
      eb.or([
        eb('requests.requester_id', '=', scope.requesterId),
        eb(
          'requests.source_id',
          'in',
          eb
            .selectFrom('source_members')
            .select('source_members.source_id')
            .where('source_members.tenant_id', '=', tenantId)
            .where('source_members.role', '=', 'ACCOUNT_MANAGER')
            .where('source_members.principal_id', 'in', scope.managerIds.length > 0 ? scope.managerIds : ['']),
        ),
      ]),
    );
    if (filter) qb = qb.where((eb) => filterExpression(eb, filter, REQUEST_FILTERS));
    return qb;
  }

  async list(tenantId: string, query: RequestListQuery): Promise<NonEmployeeRequest[]> {
    const rows = (await applySorters(this.withSource(this.scoped(tenantId, query.scope, query.filter)), query.sorters)
      .limit(query.limit)
      .offset(query.offset)
      .execute()) as RequestRow[];
    const items = await this.itemsOf(
      this.db,
      tenantId,
      rows.map((r) => r.id),
    );
    return rows.map((r) => toRequest(r, items.get(r.id) ?? []));
  }

  async count(tenantId: string, query: Pick<RequestListQuery, 'scope' | 'filter'>): Promise<number> {
    const row = await this.scoped(tenantId, query.scope, query.filter)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Requests of the scope by status, and the records of the sources the scope manages. */
  async summary(tenantId: string, scope: RequestScope): Promise<{ byStatus: Partial<Record<RequestStatus, number>>; records: number }> {
    const rows = await this.scoped(tenantId, scope, undefined)
      .select(['requests.approval_status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('requests.approval_status')
      .execute();
    const records = await this.db
      .selectFrom('records')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('source_id', 'in', (eb) =>
        eb
          .selectFrom('source_members')
          .select('source_id')
          .where('tenant_id', '=', tenantId)
          .where('role', '=', 'ACCOUNT_MANAGER')
          .where('principal_id', 'in', scope.managerIds.length > 0 ? scope.managerIds : ['']),
      )
      .executeTakeFirstOrThrow();
    return { byStatus: Object.fromEntries(rows.map((r) => [r.approval_status, Number(r.n)])), records: Number(records.n) };
  }

  /** True when a record of the source already has this accountName. */
  async recordHasAccountName(db: Exec, tenantId: string, sourceId: string, accountName: string): Promise<boolean> {
    const row = await db
      .selectFrom('records')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('source_id', '=', sourceId)
      .where('account_name', '=', accountName)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Inserts a PENDING request and its items. A second PENDING request of the accountName violates a unique index. */
  async insert(trx: Transaction<Database>, tenantId: string, request: NonEmployeeRequest): Promise<void> {
    await trx
      .insertInto('requests')
      .values({
        tenant_id: tenantId,
        id: request.id,
        source_id: request.source.id,
        requester_id: request.requesterId,
        account_name: request.accountName,
        first_name: request.firstName,
        last_name: request.lastName,
        email: request.email,
        phone: request.phone,
        manager: request.manager,
        start_date: request.startDate,
        end_date: request.endDate,
        data: JSON.stringify(request.data),
        approval_status: 'PENDING',
        completion_date: null,
        record_id: null,
        created: request.created,
        modified: request.modified,
      })
      .execute();
    if (request.items.length === 0) return;
    await trx
      .insertInto('approval_items')
      .values(
        request.items.map((i) => ({
          tenant_id: tenantId,
          id: i.id,
          request_id: request.id,
          approval_order: i.order,
          approver_type: i.approver.type,
          approver_id: i.approver.id,
          approval_status: i.status,
          comment: null,
          decided_by: null,
          created: i.created,
          modified: i.modified,
        })),
      )
      .execute();
  }

  /**
   * Locks a PENDING request for a state change (every writer of a request's state takes this row
   * first, so they are ordered); false when it is not PENDING (any more).
   */
  async lockPending(trx: Transaction<Database>, tenantId: string, id: string, now: string): Promise<boolean> {
    const result = await trx
      .updateTable('requests')
      .set({ modified: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('approval_status', '=', 'PENDING')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Ends a PENDING request; false when it is not PENDING. */
  async finish(trx: Transaction<Database>, tenantId: string, id: string, status: RequestStatus, now: string, recordId: string | null = null): Promise<boolean> {
    const result = await trx
      .updateTable('requests')
      .set({ approval_status: status, modified: now, completion_date: status === 'APPROVED' ? now : null, record_id: recordId })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('approval_status', '=', 'PENDING')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Removes a request that is no longer PENDING, with its items; false when there is none such. */
  async deleteFinished(trx: Transaction<Database>, tenantId: string, id: string): Promise<boolean> {
    const result = await trx
      .deleteFrom('requests')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('approval_status', '<>', 'PENDING')
      .executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }
}
