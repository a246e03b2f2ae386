/**
 * What a record list (`listNonEmployeeRecords`) may filter and sort on, mapped to the columns of `records`.
 * - Documented: `sourceId eq`. Extensions: `sourceId in`; accountName, email, manager, firstName,
 *   lastName with eq, sw, co, in (eq and in exact, sw and co case-insensitive); startDate, endDate,
 *   created, modified with gt, ge, lt, le, the value in any form a record date accepts.
 * - Sorters: the twelve documented fields. Without sorters: `created` (creation order), so that
 *   offset paging is stable and records created while a client pages arrive on the last pages.
 *   `id` breaks every tie, in the direction of the last sorter (`-modified` is `-modified,-id`), so
 *   that one index walk, forwards or backwards, serves a single-field sort even where thousands
 *   of records tie (a bulk import gives them one `modified`).
 */
import type { FilterOp, Literal } from '../../collections/filter.js';
import { filterError } from '../../collections/filter.js';
import { parseSorters, type FilterField, type FilterSpec, type Sorter, type SortSpec } from '../../collections/query.js';
import { parseRecordDate } from './dates.js';

const TEXT_OPS: readonly FilterOp[] = ['eq', 'sw', 'co', 'in'];
const DATE_OPS: readonly FilterOp[] = ['gt', 'ge', 'lt', 'le'];

/** Filter dates go through the same parser as record dates, so both engines compare ISO UTC. */
export function filterDate(value: Literal): Literal {
  const parsed = parseRecordDate(String(value));
  if (!parsed.ok) throw filterError(`"${String(value)}" ${parsed.reason}`);
  return parsed.iso;
}

const text = (column: string): FilterField => ({ column: `records.${column}`, type: 'string', ops: TEXT_OPS });
const date = (column: string): FilterField => ({ column: `records.${column}`, type: 'date', ops: DATE_OPS, normalize: filterDate });

export const RECORD_FILTERS: FilterSpec = {
  // Values are stored ids: the service resolves ids in any spelling and ISC source ids first.
  sourceId: { column: 'records.source_id', type: 'string', ops: ['eq', 'in'] },
  accountName: text('account_name'),
  email: text('email'),
  manager: text('manager'),
  firstName: text('first_name'),
  lastName: text('last_name'),
  startDate: date('start_date'),
  endDate: date('end_date'),
  created: date('created'),
  modified: date('modified'),
};

export const RECORD_SORTS: SortSpec = {
  fields: {
    id: 'records.id',
    accountName: 'records.account_name',
    sourceId: 'records.source_id',
    manager: 'records.manager',
    firstName: 'records.first_name',
    lastName: 'records.last_name',
    email: 'records.email',
    phone: 'records.phone',
    startDate: 'records.start_date',
    endDate: 'records.end_date',
    created: 'records.created',
    modified: 'records.modified',
  },
  tiebreak: 'records.id',
  default: 'created',
  caseless: ['accountName', 'manager', 'firstName', 'lastName', 'email', 'phone'],
};

/** `parseSorters` for records, with the tiebreak following the last sorter's direction. */
export function recordSorters(text: string | undefined): Sorter[] {
  const sorters = parseSorters(text, RECORD_SORTS);
  const last = sorters.at(-1)!;
  const before = sorters.at(-2);
  const named = (text ?? '').split(',').map((item) => item.trim().replace(/^-/, ''));
  if (before && last.column === RECORD_SORTS.tiebreak && !named.includes('id')) last.direction = before.direction;
  return sorters;
}
