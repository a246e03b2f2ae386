/**
 * What request and approval lists may filter and sort on.
 * - Requests: documented `sourceId eq`; extensions `sourceId in`, `approvalStatus eq|in`,
 *   `accountName eq|in`. Sorters: the nine documented fields; default `created`.
 * - Approvals: documented `approvalStatus eq`, the value in any case (the spec's example is
 *   "Pending"); extension `approvalStatus in`. Sorters: created, modified; default `created`.
 * `id` breaks every tie, so offset paging is stable.
 */
import { filterError, type Literal } from '../../collections/filter.js';
import type { FilterSpec, SortSpec } from '../../collections/query.js';
import { APPROVAL_STATUSES, parseApprovalStatus } from './state.js';

/** Upper-cases an approval status given in any case; an unknown one is a 400 naming the choices. */
export function approvalStatusValue(value: Literal): Literal {
  const status = parseApprovalStatus(String(value));
  if (!status) throw filterError(`"${String(value)}" is not an approval status; use one of ${APPROVAL_STATUSES.join(', ')} (any case)`);
  return status;
}

export const REQUEST_FILTERS: FilterSpec = {
  // Values are stored ids: the service resolves ids in any spelling and ISC source ids first.
  sourceId: { column: 'requests.source_id', type: 'string', ops: ['eq', 'in'] },
  approvalStatus: { column: 'requests.approval_status', type: 'enum', ops: ['eq', 'in'], normalize: approvalStatusValue },
  accountName: { column: 'requests.account_name', type: 'string', ops: ['eq', 'in'] },
};

export const REQUEST_SORTS: SortSpec = {
  fields: {
    created: 'requests.created',
    approvalStatus: 'requests.approval_status',
    firstName: 'requests.first_name',
    lastName: 'requests.last_name',
    email: 'requests.email',
    phone: 'requests.phone',
    accountName: 'requests.account_name',
    startDate: 'requests.start_date',
    endDate: 'requests.end_date',
  },
  tiebreak: 'requests.id',
  default: 'created',
  caseless: ['firstName', 'lastName', 'email', 'phone', 'accountName'],
};

export const APPROVAL_FILTERS: FilterSpec = {
  approvalStatus: { column: 'approval_items.approval_status', type: 'enum', ops: ['eq', 'in'], normalize: approvalStatusValue },
};

export const APPROVAL_SORTS: SortSpec = {
  fields: { created: 'approval_items.created', modified: 'approval_items.modified' },
  tiebreak: 'approval_items.id',
  default: 'created',
};
