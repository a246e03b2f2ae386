/**
 * The SQL of record lists and counts, fast at 1,000,000 records (50 sources × 20,000).
 *
 * Indexes (migrations 0001 and 0010): per source, `(tenant_id, source_id, <key>, id)` for every
 * sortable column but id, where the key of a text column is `lower(<column>)` (the caseless
 * sorters; accountName through its caseless unique key), and across sources only
 * `(tenant_id, created, id)` and the primary key `(tenant_id, id)`. Cross-source indexes on the
 * other columns would make each bulk import rewrite most of their pages (random positions), so
 * they are not kept; instead:
 * - a list pinned to one source (`sourceId eq`), or sorted by created, id or sourceId (unless its
 *   filter looks up accountName or email), is one plain query walking an index;
 * - any other list is a top-k merge: one branch per source (at most 50), each walking that source's
 *   index for its first `offset + limit` (id, sort keys), merged and cut to the page, whose rows
 *   are joined in the same statement. Counts with a filter, or for an account manager, are the sum of
 *   per-source counts.
 */
import { type SelectQueryBuilder, sql } from 'kysely';
import type { FilterNode } from '../../collections/filter.js';
import { filterExpression, type Sorter, sortKey } from '../../collections/query.js';
import type { Exec } from '../../db/dialect.js';
import { RECORD_FILTERS } from './collection.js';

export interface RecordListQuery {
  /** Only records of these sources (those the caller manages); all records when undefined. */
  within?: readonly string[] | undefined;
  filter?: FilterNode | undefined;
  sorters: readonly Sorter[];
  limit: number;
  offset: number;
}

/** The ids of the tenant's sources, in id order, read when a merge needs them. */
export type SourceIds = () => Promise<string[]>;

/** Columns with an index across sources (the tiebreak `id` is always last). */
const CROSS_SOURCE_ORDER = new Set(['records.created', 'records.id', 'records.source_id']);
/** Bound parameters a merge may use in all (both engines accept well over this). */
const MAX_MERGE_PARAMETERS = 20_000;

// biome-ignore lint/suspicious/noExplicitAny: a merge selects from derived tables Kysely cannot type.
type AnySelect = SelectQueryBuilder<any, any, any>;

/** The source ids a top-level `sourceId eq` / `in` (under `and`) restricts the filter to. */
export function pinnedSources(node: FilterNode | undefined): string[] | undefined {
  if (!node) return undefined;
  const items = node.kind === 'and' ? node.items : [node];
  let pinned: string[] | undefined;
  for (const item of items) {
    if (item.kind !== 'compare' || item.field !== 'sourceId' || (item.op !== 'eq' && item.op !== 'in')) continue;
    const values = (item.op === 'eq' ? [item.value] : (item.values ?? [])).filter((v): v is string => typeof v === 'string');
    pinned = pinned ? pinned.filter((id) => values.includes(id)) : [...new Set(values)];
  }
  return pinned;
}

/** True for a filter with a top-level (under `and`) accountName or email `eq` / `in`. */
export function isLookup(node: FilterNode | undefined): boolean {
  if (!node) return false;
  const items = node.kind === 'and' ? node.items : [node];
  return items.some((i) => i.kind === 'compare' && (i.field === 'accountName' || i.field === 'email') && (i.op === 'eq' || i.op === 'in'));
}

/**
 * ORDER BY without NULLS FIRST/LAST: every sortable column of `records` is NOT NULL, and SQLite
 * walks an index for ORDER BY only when the NULLS placement is the index's own (NULLS LAST on the
 * tiebreak made it sort each source's rows instead).
 */
function orderBy<QB extends AnySelect>(qb: QB, sorters: readonly Sorter[]): QB {
  let out: AnySelect = qb;
  for (const sorter of sorters) out = out.orderBy(sortKey(sorter), (ob) => (sorter.direction === 'asc' ? ob.asc() : ob.desc()));
  return out as QB;
}

function literalCount(node: FilterNode): number {
  switch (node.kind) {
    case 'and':
    case 'or':
      return node.items.reduce((n, item) => n + literalCount(item), 0);
    case 'not':
      return literalCount(node.item);
    case 'compare':
      return 1 + (node.values?.length ?? 0);
  }
}

/** The page's query and the counts of a record list, planned as the module comment says. */
export class RecordLists {
  constructor(
    private readonly db: Exec,
    private readonly tenantId: string,
    private readonly sourceIds: SourceIds,
  ) {}

  private base(within: readonly string[] | undefined, filter: FilterNode | undefined) {
    let qb = this.db.selectFrom('records').where('records.tenant_id', '=', this.tenantId);
    if (within) qb = qb.where('records.source_id', 'in', within.length > 0 ? within : ['']);
    if (filter) qb = qb.where((eb) => filterExpression(eb, filter, RECORD_FILTERS));
    return qb;
  }

  /** The sources a merge has branches for, or undefined when a plain query is the better plan. */
  private async branches(query: Pick<RecordListQuery, 'within' | 'filter'>, sorters?: readonly Sorter[]): Promise<string[] | undefined> {
    const pinned = pinnedSources(query.filter);
    if (pinned?.length === 1) return undefined;
    // Counting everything walks one index; any restriction counts per source, in index ranges.
    if (!query.filter && !query.within && sorters === undefined) return undefined;
    // Walking the created (or id) index across sources finds a page quickly unless the filter is a
    // lookup (accountName or email eq/in), which the per-source indexes answer in one seek each.
    if (sorters !== undefined && CROSS_SOURCE_ORDER.has(sorters[0]!.column) && !isLookup(query.filter)) return undefined;
    let ids = query.within ? [...query.within].sort() : await this.sourceIds();
    if (pinned) ids = ids.filter((id) => pinned.includes(id));
    const perBranch = 8 + (query.filter ? literalCount(query.filter) : 0) + (sorters?.length ?? 0);
    return ids.length * perBranch > MAX_MERGE_PARAMETERS ? undefined : ids;
  }

  /**
   * The one statement that reads a page's rows, in order, or undefined when the page is empty
   * without asking (limit 0, no source to merge). May run a query to plan it.
   */
  async page(query: RecordListQuery): Promise<AnySelect | undefined> {
    const { within, filter, sorters, limit, offset } = query;
    if (limit === 0) return undefined;
    const sources = await this.branches(query, sorters);
    if (!sources) {
      const base = this.base(within, filter) as AnySelect;
      const direction = sorters[0]!.direction;
      if (offset === 0 || sorters.some((s) => s.direction !== direction)) {
        return orderBy(base.selectAll('records'), sorters).limit(limit).offset(offset);
      }
      // Deep pages seek instead of skipping: the page starts at the sort key of the offset-th row,
      // found by a subquery that reads only the index (the keys are sort columns and id), and the
      // page reads just its own rows. Sorters end in the unique id, so the key order is total; one
      // statement, so one snapshot.
      const keys = sql.join(sorters.map(sortKey));
      const start = orderBy(base.select(sorters.map((s) => sortKey(s).as(s.column.replace('records.', '')))), sorters)
        .limit(1)
        .offset(offset);
      const page = base.selectAll('records').where(sql<boolean>`(${keys}) ${sql.raw(direction === 'asc' ? '>=' : '<=')} (${start})`);
      return orderBy(page, sorters).limit(limit);
    }
    if (sources.length === 0) return undefined;
    // Each sort column travels as k0, k1, …; `id` as itself.
    const alias = sorters.map((s, i) => (s.column === 'records.id' ? 'id' : `k${i}`));
    const branch = (sourceId: string, i: number) => {
      let qb = this.base(within, filter).where('records.source_id', '=', sourceId).select(sql.ref<string>('records.id').as('id')) as AnySelect;
      sorters.forEach((s, j) => {
        if (alias[j] !== 'id') qb = qb.select(sortKey(s).as(alias[j]!));
      });
      return this.db
        .selectFrom(
          orderBy(qb, sorters)
            .limit(offset + limit)
            .as(`b${i}`),
        )
        .selectAll() as AnySelect;
    };
    let union = branch(sources[0]!, 0);
    for (let i = 1; i < sources.length; i++) union = union.unionAll(branch(sources[i]!, i));
    const keys = [...new Set(alias)];
    const at = (table: string) => sorters.map((s, j) => ({ column: `${table}.${alias[j]}`, direction: s.direction }));
    const page = orderBy(this.db.selectFrom(union.as('u')).select(keys.map((k) => `u.${k}`)) as AnySelect, at('u'))
      .limit(limit)
      .offset(offset);
    // The page and its rows in one statement: one snapshot, so a page never comes back short.
    const rows = this.db
      .selectFrom(page.as('p'))
      .innerJoin('records', (join) => join.onRef('records.id', '=', 'p.id').on('records.tenant_id', '=', this.tenantId))
      .selectAll('records') as AnySelect;
    return orderBy(rows, at('p'));
  }

  async count(query: Pick<RecordListQuery, 'within' | 'filter'>): Promise<number> {
    const sources = await this.branches(query);
    if (!sources) {
      const row = await this.base(query.within, query.filter)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    }
    if (sources.length === 0) return 0;
    const branch = (sourceId: string) =>
      this.base(query.within, query.filter)
        .where('records.source_id', '=', sourceId)
        .select((eb) => eb.fn.countAll<number>().as('n')) as AnySelect;
    let union = branch(sources[0]!);
    for (const sourceId of sources.slice(1)) union = union.unionAll(branch(sourceId));
    const rows = (await union.execute()) as { n: number | string }[];
    return rows.reduce((sum, r) => sum + Number(r.n), 0);
  }
}
