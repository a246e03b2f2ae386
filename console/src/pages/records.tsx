/**
 * Records: the non-employees of the sources the person may see, searched by name, account name or
 * email, filtered by source and end date, sorted and paged by the API.
 */
import { useEffect, useState } from 'preact/hooks';
import { get, page, quote } from '../api';
import type { PageDef } from '../pages';
import { BASE, setQuery, useLocation } from '../router';
import { hasRight, useMe } from '../session';
import { day, ErrorMessage, Link, Loading, Pager, useDebounced, useLoad } from '../ui';
import { SortableHeader, Table } from '../forms';

export interface RecordRow {
  id: string;
  accountName: string;
  firstName: string;
  lastName: string;
  email: string;
  phone: string;
  manager: string;
  sourceId: string;
  startDate: string;
  endDate: string;
  data: Record<string, string>;
  created: string;
  modified: string;
}

interface Source {
  id: string;
  name: string;
}

const LIMIT = 25;
const DAY = 24 * 60 * 60 * 1000;
const COLUMNS = [
  ['lastName', 'Name'],
  ['accountName', 'Account name'],
  ['email', 'Email'],
  ['sourceId', 'Source'],
  ['startDate', 'Start date'],
  ['endDate', 'End date'],
] as const;

/** The API filter of the page's search, source and end-date range. */
export function recordFilters(search: string, sourceId: string, range: string, now = Date.now()): string | undefined {
  const parts: string[] = [];
  for (const word of search.trim().split(/\s+/).filter(Boolean).slice(0, 5)) {
    const q = quote(word);
    parts.push(`(firstName co ${q} or lastName co ${q} or accountName co ${q} or email co ${q})`);
  }
  if (sourceId) parts.push(`sourceId eq ${quote(sourceId)}`);
  const today = new Date(now).toISOString();
  if (range === 'expiring') parts.push(`endDate ge "${today}" and endDate le "${new Date(now + 14 * DAY).toISOString()}"`);
  if (range === 'expired') parts.push(`endDate lt "${today}"`);
  return parts.length > 0 ? parts.join(' and ') : undefined;
}

function Records() {
  const { me } = useMe();
  const { query } = useLocation();
  const offset = Number(query.get('offset') ?? 0) || 0;
  const sourceId = query.get('source') ?? '';
  const range = query.get('range') ?? '';
  const sort = query.get('sort') ?? '';
  const [search, setSearch] = useState(query.get('q') ?? '');
  const settled = useDebounced(search, 300);
  useEffect(() => {
    if (settled !== (query.get('q') ?? '')) setQuery({ q: settled, offset: undefined }, true);
  }, [settled, query]);
  const q = query.get('q') ?? '';

  const sources = useLoad(
    async () =>
      (await get<Source[]>('/v3/non-employee-sources', { 'requested-for': hasRight(me, 'idn:nesr:read') ? undefined : 'me', limit: 250, sorters: 'name' }))
        .data,
    'sources',
  );
  const list = useLoad(
    () => page<RecordRow>('/v3/non-employee-records', { limit: LIMIT, offset, sorters: sort || undefined, filters: recordFilters(q, sourceId, range) }),
    `${offset}:${sourceId}:${range}:${sort}:${q}`,
  );
  const sourceName = (id: string) => sources.data?.find((s) => s.id === id)?.name ?? '';

  return (
    <>
      <h1>Records</h1>
      <search class="toolbar">
        <label>
          Search <input type="search" placeholder="Name, account name or email" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
        <label>
          Source{' '}
          <select value={sourceId} onChange={(e) => setQuery({ source: e.currentTarget.value, offset: undefined })}>
            <option value="">All sources</option>
            {sources.data?.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          End date{' '}
          <select value={range} onChange={(e) => setQuery({ range: e.currentTarget.value, offset: undefined })}>
            <option value="">Any</option>
            <option value="expiring">Expiring in 14 days</option>
            <option value="expired">Expired</option>
          </select>
        </label>
      </search>
      <ErrorMessage error={list.error} />
      {list.loading && !list.data ? <Loading what="records" /> : null}
      {list.data ? (
        <div class="table-wrap" data-ready={list.loading ? undefined : 'true'} aria-busy={list.loading}>
          <Table
            caption="Non-employee records"
            columns={COLUMNS.map(([field, label]) => <SortableHeader key={field} field={field} label={label} sort={sort} />)}
            empty="No records match."
            count={list.data.items.length}
          >
            {list.data.items.map((record) => (
              <tr key={record.id}>
                <td>
                  <Link href={`${BASE}/records/${record.id}`}>
                    {record.firstName} {record.lastName}
                  </Link>
                </td>
                <td>{record.accountName}</td>
                <td>{record.email}</td>
                <td>{sourceName(record.sourceId)}</td>
                <td>{day(record.startDate)}</td>
                <td>{day(record.endDate)}</td>
              </tr>
            ))}
          </Table>
        </div>
      ) : null}
      {list.data ? <Pager label="Records" total={list.data.total} limit={LIMIT} offset={offset} onOffset={(o) => setQuery({ offset: o })} /> : null}
    </>
  );
}

export const recordsPage: PageDef = {
  path: '/records',
  title: 'Records',
  nav: 'Records',
  visible: (me) => me.managedSources > 0 || hasRight(me, 'idn:nesr:read'),
  component: Records,
};
