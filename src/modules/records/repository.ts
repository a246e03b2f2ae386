/** All SQL of non-employee records, and of the record slots kept in `sources.record_count`. */
import { CompiledQuery, PostgresIntrospector, sql, type Kysely, type Transaction } from 'kysely';
import type { Database, RecordTable } from '../../db/types.js';
import { parseJson, type EachRow } from '../../db/connect.js';
import type { ReadFirst } from '../../db/sqlite-reads.js';
import { PointReads } from '../../db/batch.js';
import type { CachedRecord, RecordCache } from '../../db/record-cache.js';
import { MAX_LIMIT } from '../../collections/paging.js';
import { RecordLists, type RecordListQuery } from './list.js';
import { JsonArrayBytes, jsonArraySql } from './wire.js';

export type { RecordListQuery };

type Exec = Kysely<Database> | Transaction<Database>;

/** PostgreSQL: a get's row, `records.id`, `records.source_id` and `records.json`. */
type PgJsonRow = readonly [id: string, sourceId: string, json: string];

export interface NonEmployeeRecord {
  id: string;
  sourceId: string;
  accountName: string;
  firstName: string;
  lastName: string;
  email: string;
  phone: string;
  manager: string;
  startDate: string;
  endDate: string;
  data: Record<string, string>;
  created: string;
  modified: string;
}

/** What records need to know of their source. */
export interface RecordSource {
  id: string;
  ownerId: string;
}

/** Bytes a record's JSON takes, generously: a page's buffer of `limit` of them seldom grows. */
const RECORD_JSON_BYTES = 768;
/** Rows per INSERT in `insertMany`: 14 parameters each stays under both engines' limits. */
const INSERT_CHUNK = 1000;

/**
 * The columns a record is read from: never `json` (the record once more as text, 500-odd bytes
 * a row that a bulk import reading a whole source would carry for nothing).
 */
export const RECORD_COLUMNS = [
  'records.tenant_id',
  'records.id',
  'records.source_id',
  'records.account_name',
  'records.first_name',
  'records.last_name',
  'records.email',
  'records.phone',
  'records.manager',
  'records.start_date',
  'records.end_date',
  'records.data',
  'records.created',
  'records.modified',
] as const satisfies readonly `records.${keyof RecordTable}`[];

/**
 * PostgreSQL: the SQL of a batch of gets, `records.id`, `records.source_id` and `records.json` of
 * the records of tenant $1 whose ids are in the array $2.
 *
 * `= ANY(ARRAY(SELECT unnest($2)))`, not `= ANY($2)`: PostgreSQL plans a prepared statement anew
 * for each run (a custom plan) while that looks cheaper than its generic plan, and with the
 * array's length in sight a small batch always did, so every batch was planned again (pgbench,
 * batches of 5: 9,000–10,700 reads/s; forced generic plans 14,800–17,300). Behind a subquery the
 * length is unknown to both, the generic plan wins after five runs, and it is the same index scan
 * of the primary key (15,400–18,000 reads/s).
 */
export function pgRecordsByIdsSql(db: Kysely<Database>): string {
  return db
    .selectFrom('records')
    .select(['records.id', 'records.source_id', 'records.json'])
    .where('tenant_id', '=', '')
    .where('id', '=', sql<string>`any(array(select unnest(${sql.val([] as string[])}::text[])))`)
    .compile().sql;
}

/** A stored row as a domain record (the one mapper; bulk export reads rows through it too). */
export function toRecord(row: RecordTable): NonEmployeeRecord {
  return {
    id: row.id,
    sourceId: row.source_id,
    accountName: row.account_name,
    firstName: row.first_name,
    lastName: row.last_name,
    email: row.email,
    phone: row.phone,
    manager: row.manager,
    startDate: row.start_date,
    endDate: row.end_date,
    data: parseJson<Record<string, string>>(row.data) ?? {},
    created: row.created,
    modified: row.modified,
  };
}

function toRow(tenantId: string, r: NonEmployeeRecord): RecordTable {
  return {
    tenant_id: tenantId,
    id: r.id,
    source_id: r.sourceId,
    account_name: r.accountName,
    first_name: r.firstName,
    last_name: r.lastName,
    email: r.email,
    phone: r.phone,
    manager: r.manager,
    start_date: r.startDate,
    end_date: r.endDate,
    // A JSON string is TEXT in SQLite, and PostgreSQL casts it to jsonb.
    data: JSON.stringify(r.data),
    created: r.created,
    modified: r.modified,
  };
}

function isPostgres(db: Exec): boolean {
  return db.introspection instanceof PostgresIntrospector;
}

/**
 * Removes `keys` from the `data` of every record of a source, e.g. when custom schema attributes
 * are deleted (called inside that deletion's transaction).
 */
export async function removeDataKeys(db: Exec, tenantId: string, sourceId: string, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  const base = db.updateTable('records').where('tenant_id', '=', tenantId).where('source_id', '=', sourceId);
  if (isPostgres(db)) {
    const list = sql`cast(${[...keys]} as text[])`;
    await base
      .set({ data: sql`data - ${list}` })
      .where(sql<boolean>`jsonb_exists_any(data, ${list})`)
      .execute();
    return;
  }
  const paths = keys.map((k) => `$."${k}"`);
  await base
    .set({ data: sql`json_remove(data, ${sql.join(paths)})` })
    .where((eb) => eb.or(paths.map((p) => sql<boolean>`json_type(data, ${p}) is not null`)))
    .execute();
}

export class RecordRepository {
  private readonly lists: RecordLists;
  /**
   * The SQL of `byId`, the hottest query, built once: building and compiling it with Kysely took
   * a third of a get's database time (docs/performance.md, Records). Parameters: tenant id, id.
   */
  private readonly byIdSql: string;
  /**
   * Likewise `byIdJson`: the source id and the record's wire JSON by (tenant id, id) on SQLite; by
   * (tenant id, ids), with the id, on PostgreSQL, read by `pgGets`.
   */
  private readonly byIdJsonSql: string;

  /**
   * PostgreSQL: gets by id coalesced per event-loop turn into one `id = ANY($2)` read per tenant
   * (src/db/batch.ts). SQLite reads are synchronous calls of a few µs, nothing to coalesce.
   */
  private readonly pgGets: PointReads<PgJsonRow> | undefined;
  /** PostgreSQL: rows handed over one at a time (src/db/connect.ts). */
  private readonly eachRow: EachRow | undefined;

  /**
   * @param eachRow `Db.eachRow`, which PostgreSQL has (and needs here)
   * @param readFirst `Db.readFirst`, which SQLite has: gets read at once, or by its read thread
   * @param cache `Db.recordCache` (PostgreSQL): gets answered from memory while it is trusted
   */
  constructor(
    readonly db: Kysely<Database>,
    eachRow?: EachRow,
    private readonly readFirst?: ReadFirst,
    private readonly cache?: RecordCache,
  ) {
    this.lists = new RecordLists(db);
    const one = db.selectFrom('records').where('tenant_id', '=', '');
    this.byIdSql = one.select(RECORD_COLUMNS).where('id', '=', '').compile().sql;
    if (isPostgres(db)) {
      if (!eachRow) throw new Error('RecordRepository on PostgreSQL reads through Db.eachRow');
      this.eachRow = eachRow;
      this.byIdJsonSql = pgRecordsByIdsSql(db);
      this.pgGets = new PointReads(async (tenantId, ids) => {
        const found = new Map<string, PgJsonRow>();
        await eachRow(CompiledQuery.raw(this.byIdJsonSql, [tenantId, ids]), (v) => found.set(v[0] as string, v as unknown as PgJsonRow));
        return found;
      });
    } else {
      this.byIdJsonSql = one.select(['records.source_id', 'records.json']).where('id', '=', '').compile().sql;
    }
  }

  transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  async source(tenantId: string, sourceId: string, db: Exec = this.db): Promise<RecordSource | undefined> {
    const row = await db.selectFrom('sources').select(['id', 'owner_id']).where('tenant_id', '=', tenantId).where('id', '=', sourceId).executeTakeFirst();
    return row && { id: row.id, ownerId: row.owner_id };
  }

  async byId(tenantId: string, id: string, db: Exec = this.db): Promise<NonEmployeeRecord | undefined> {
    const [row] = (await db.executeQuery<RecordTable>(CompiledQuery.raw(this.byIdSql, [tenantId, id]))).rows;
    return row && toRecord(row);
  }

  /** A record as the JSON the get operation sends (see wire.ts), and its source id. */
  async byIdJson(tenantId: string, id: string): Promise<CachedRecord | undefined> {
    if (this.pgGets) {
      const kept = this.cache?.get(tenantId, id);
      if (kept) return kept;
      const generation = this.cache?.generation;
      const row = await this.pgGets.load(tenantId, id);
      if (!row) return undefined;
      const found = { sourceId: row[1], json: row[2] };
      if (generation !== undefined) this.cache!.fill(generation, tenantId, id, found);
      return found;
    }
    type Row = { source_id: string; json: string };
    const row = this.readFirst
      ? await this.readFirst<Row>(this.byIdJsonSql, [tenantId, id])
      : (await this.db.executeQuery<Row>(CompiledQuery.raw(this.byIdJsonSql, [tenantId, id]))).rows[0];
    return row && { sourceId: row.source_id, json: row.json };
  }

  /** The page as the JSON array the list operation sends, as UTF-8 bytes (see wire.ts); `[]` when nothing is read. */
  async listJson(tenantId: string, query: RecordListQuery): Promise<string | Buffer> {
    if (this.eachRow) {
      const page = await this.lists.pageQuery(tenantId, query, (qb) => qb.select('records.json'));
      if (!page) return '[]';
      const json = new JsonArrayBytes(Math.min(query.limit, MAX_LIMIT) * RECORD_JSON_BYTES);
      await this.eachRow(page.compile(), (v) => json.push(v[0] as string));
      return json.end();
    }
    const page = await this.lists.pageQuery(tenantId, query, (qb) => qb.select('records.json'));
    if (!page) return '[]';
    const { sql: text, parameters } = this.db
      .selectFrom(page.as('page'))
      .select(jsonArraySql(sql.ref('page.json')).as('json'))
      .compile();
    const row = this.readFirst
      ? await this.readFirst<{ json: Buffer }>(text, parameters)
      : (await this.db.executeQuery<{ json: Buffer }>(CompiledQuery.raw(text, [...parameters]))).rows[0];
    return row!.json;
  }

  count(tenantId: string, query: Pick<RecordListQuery, 'managedBy' | 'filter'>): Promise<number> {
    return this.lists.count(tenantId, query);
  }

  /**
   * Takes `n` of the source's record slots, atomically: false when fewer than `n` are left or the
   * source is gone. The row lock this takes also orders concurrent writers of the source.
   */
  async reserveSlots(trx: Transaction<Database>, tenantId: string, sourceId: string, n: number, max: number): Promise<boolean> {
    const result = await trx
      .updateTable('sources')
      .set((eb) => ({ record_count: eb('record_count', '+', n) }))
      .where('tenant_id', '=', tenantId)
      .where('id', '=', sourceId)
      .where((eb) => eb(eb('record_count', '+', n), '<=', max))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async releaseSlots(trx: Transaction<Database>, tenantId: string, sourceId: string, n: number): Promise<void> {
    await trx
      .updateTable('sources')
      .set((eb) => ({ record_count: eb('record_count', '-', n) }))
      .where('tenant_id', '=', tenantId)
      .where('id', '=', sourceId)
      .execute();
  }

  async insert(trx: Transaction<Database>, tenantId: string, record: NonEmployeeRecord): Promise<void> {
    await trx.insertInto('records').values(toRow(tenantId, record)).execute();
  }

  /**
   * Inserts many records in multi-row INSERTs (slots are the caller's business); `between` runs
   * between two of them.
   */
  async insertMany(trx: Transaction<Database>, tenantId: string, records: readonly NonEmployeeRecord[], between?: () => Promise<void>): Promise<void> {
    for (let i = 0; i < records.length; i += INSERT_CHUNK) {
      if (i > 0) await between?.();
      await trx
        .insertInto('records')
        .values(records.slice(i, i + INSERT_CHUNK).map((r) => toRow(tenantId, r)))
        .execute();
    }
  }

  /**
   * Writes every field but id, sourceId and created of many records (bulk import), one UPDATE … FROM
   * (VALUES …) per chunk of rows; returns how many rows were updated. `between` runs between two chunks.
   */
  async updateMany(trx: Transaction<Database>, tenantId: string, records: readonly NonEmployeeRecord[], between?: () => Promise<void>): Promise<number> {
    // VALUES columns are text to PostgreSQL: typed columns are cast where they are assigned.
    const as = (column: string, type: string) => (isPostgres(trx) ? sql`cast(v.${sql.ref(column)} as ${sql.raw(type)})` : sql`v.${sql.ref(column)}`);
    let updated = 0;
    for (let i = 0; i < records.length; i += INSERT_CHUNK) {
      if (i > 0) await between?.();
      const values = records.slice(i, i + INSERT_CHUNK).map((r) => {
        const w = toRow(tenantId, r);
        return sql`(${w.id}, ${w.account_name}, ${w.first_name}, ${w.last_name}, ${w.email}, ${w.phone}, ${w.manager}, ${w.start_date}, ${w.end_date}, ${w.data}, ${w.modified})`;
      });
      const result = await sql`
        with v (id, account_name, first_name, last_name, email, phone, manager, start_date, end_date, data, modified) as (values ${sql.join(values)})
        update records set account_name = v.account_name, first_name = v.first_name, last_name = v.last_name, email = v.email, phone = v.phone,
          manager = v.manager, start_date = ${as('start_date', 'timestamptz')}, end_date = ${as('end_date', 'timestamptz')},
          data = ${as('data', 'jsonb')}, modified = ${as('modified', 'timestamptz')}
        from v where records.tenant_id = ${tenantId} and records.id = v.id`.execute(trx);
      updated += Number(result.numAffectedRows ?? 0);
    }
    return updated;
  }

  /** Writes every field but id, sourceId and created; false when the record is gone. */
  async update(tenantId: string, record: NonEmployeeRecord, db: Exec = this.db): Promise<boolean> {
    const { id: _id, source_id: _source, tenant_id: _tenant, created: _created, ...changes } = toRow(tenantId, record);
    const result = await db.updateTable('records').set(changes).where('tenant_id', '=', tenantId).where('id', '=', record.id).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Deletes the records and returns the (id, sourceId) of those that existed. */
  async deleteMany(trx: Transaction<Database>, tenantId: string, ids: readonly string[]): Promise<{ id: string; sourceId: string }[]> {
    if (ids.length === 0) return [];
    const rows = await trx.deleteFrom('records').where('tenant_id', '=', tenantId).where('id', 'in', ids).returning(['id', 'source_id']).execute();
    return rows.map((r) => ({ id: r.id, sourceId: r.source_id }));
  }

  /** The (id, sourceId) of the records among `ids` that exist. */
  async locate(tenantId: string, ids: readonly string[], db: Exec = this.db): Promise<{ id: string; sourceId: string }[]> {
    if (ids.length === 0) return [];
    const rows = await db.selectFrom('records').select(['id', 'source_id']).where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
    return rows.map((r) => ({ id: r.id, sourceId: r.source_id }));
  }
}
