/**
 * Names compare as people expect:
 * - an accountName is unique within its source regardless of case (`records_account_name_caseless_key`),
 *   as is the accountName of a PENDING request (`requests_pending_account_name_key`, rebuilt on
 *   `lower(account_name)`). The exact unique key stays: it answers `accountName eq` lookups.
 * - the per-source indexes of the text sorters hold `lower(<column>)`, so those lists sort
 *   regardless of case (`alpha` before `Mike`) and still walk an index.
 * - identities are found by alias regardless of case (`identities_alias_caseless_idx`).
 * `lower` folds ASCII letters on SQLite and every letter on PostgreSQL.
 * A database holding two accountNames of one source that differ only in case cannot take the new
 * key: the migration stops and names them (rename one, then start again).
 * Frozen once landed: change the schema with a new migration. Imports nothing from the application.
 */
import { type Kysely, sql } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

const TEXT_SORTERS = ['first_name', 'last_name', 'email', 'manager', 'phone'] as const;

async function refuseCaseDuplicates(db: Kysely<any>, table: 'records' | 'requests', pendingOnly: boolean): Promise<void> {
  const { rows } = await sql<{ source_id: string; names: string }>`
    select source_id, min(account_name) || ', ' || max(account_name) as names from ${sql.table(table)}
    ${pendingOnly ? sql`where approval_status = 'PENDING'` : sql``}
    group by tenant_id, source_id, lower(account_name) having count(*) > 1 limit 5`.execute(db);
  if (rows.length === 0) return;
  const listed = rows.map((r) => `source ${r.source_id}: ${r.names}`).join('; ');
  throw new Error(`${table} hold accountNames that differ only in case (${listed}); rename one of each pair, then migrate again`);
}

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await refuseCaseDuplicates(db, 'records', false);
  await refuseCaseDuplicates(db, 'requests', true);
  // PostgreSQL reads an expression from an index without the row (an index-only scan, which the
  // first key of a deep page needs) only when the index also holds the column: INCLUDE it.
  // SQLite reads indexed expressions from the index as they are.
  const include = (...columns: string[]) => (dialect === 'postgres' ? sql` include (${sql.join(columns.map((c) => sql.ref(c)))})` : sql``);
  await sql`create unique index records_account_name_caseless_key on records (tenant_id, source_id, lower(account_name))${include('account_name', 'id')}`.execute(
    db,
  );
  for (const column of TEXT_SORTERS) {
    const index = sql.raw(`records_source_${column}_idx`);
    await sql`drop index ${index}`.execute(db);
    await sql`create index ${index} on records (tenant_id, source_id, lower(${sql.ref(column)}), id)${include(column)}`.execute(db);
  }
  await sql`drop index requests_pending_account_name_key`.execute(db);
  await sql`create unique index requests_pending_account_name_key on requests (tenant_id, source_id, lower(account_name))
    where approval_status = 'PENDING'`.execute(db);
  await sql`create index identities_alias_caseless_idx on identities (tenant_id, lower(alias))`.execute(db);
}
