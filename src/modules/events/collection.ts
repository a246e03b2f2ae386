/**
 * What the audit trail (`GET /admin/v1/audit-events`) may filter and sort on, mapped to the columns
 * of `events`: `type` with eq, in, sw; `actorId`, `targetId`, `sourceId` with eq, in (stored ids,
 * compared exactly); `time` with gt, ge, lt, le (an ISO 8601 date or date-time, UTC unless it has an offset).
 * Sorters `time` and `-time`, `time` by default; the chain's order (`seq`) breaks ties in the same
 * direction.
 */
import { filterError, type Literal } from '../../collections/filter.js';
import { type FilterSpec, parseSorters, type Sorter, type SortSpec } from '../../collections/query.js';

const ISO_DATE = /^\d{4}-\d\d-\d\d(?:T\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(Z|[+-]\d\d:\d\d)?)?$/i;

/** A filter's time as the log stores times: ISO 8601 in UTC, to the millisecond. */
export function filterTime(value: Literal): Literal {
  const text = String(value).trim();
  const match = ISO_DATE.exec(text);
  // A date-time without an offset is in UTC, like a date.
  const time = match ? Date.parse(match[1] === undefined && text.includes('T') ? `${text}Z` : text) : Number.NaN;
  if (Number.isNaN(time)) throw filterError(`"${text}" is not an ISO 8601 date or date-time`);
  return new Date(time).toISOString();
}

const id = (column: string) => ({ column: `events.${column}`, type: 'string', ops: ['eq', 'in'] }) as const;

export const EVENT_FILTERS: FilterSpec = {
  type: { column: 'events.type', type: 'string', ops: ['eq', 'in', 'sw'] },
  actorId: id('actor_id'),
  targetId: id('target_id'),
  sourceId: id('source_id'),
  time: { column: 'events.time', type: 'date', ops: ['gt', 'ge', 'lt', 'le'], normalize: filterTime },
};

const EVENT_SORTS: SortSpec = { fields: { time: 'events.time' }, tiebreak: 'events.seq', default: 'time' };

/** The sorters of an audit list: `time` or `-time`, then `seq` in the same direction. */
export function eventSorters(text: string | undefined): Sorter[] {
  const sorters = parseSorters(text, EVENT_SORTS);
  return sorters.map((s) => ({ ...s, direction: sorters[0]!.direction }));
}
