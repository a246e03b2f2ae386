/**
 * Database errors translated in one place, for both engines' shapes. Constraints are named
 * deliberately in the migrations; SQLite reports only the columns of a unique constraint, so
 * the names are looked up from them.
 */

const SQLITE_UNIQUE_COLUMNS: Record<string, string> = {
  'identities.tenant_id, identities.alias': 'identities_alias_key',
  'workgroups.tenant_id, workgroups.name': 'workgroups_name_key',
  'records.tenant_id, records.source_id, records.account_name': 'records_account_name_key',
  'api_clients.client_id': 'api_clients_client_id_key',
};

interface DriverError {
  code?: string;
  constraint?: string;
  message?: string;
}

/** The name of the unique constraint that `error` violated, or undefined if it is no such error. */
export function uniqueViolation(error: unknown): string | undefined {
  const e = error as DriverError;
  if (e?.code === '23505') return e.constraint ?? 'unknown';
  if (e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    const detail = /constraint failed: (.*)$/.exec(e.message ?? '')?.[1] ?? '';
    // A unique expression index is reported by name: "index 'schema_attributes_technical_name_key'".
    const index = /^index '([^']+)'$/.exec(detail)?.[1];
    return index ?? SQLITE_UNIQUE_COLUMNS[detail] ?? 'unknown';
  }
  return undefined;
}

export function isForeignKeyViolation(error: unknown): boolean {
  const code = (error as DriverError)?.code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/** A PostgreSQL serialization failure or deadlock: the transaction may simply be retried. */
export function isRetryable(error: unknown): boolean {
  const code = (error as DriverError)?.code;
  return code === '40001' || code === '40P01' || code === 'SQLITE_BUSY';
}
