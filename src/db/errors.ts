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

/** Error codes of Node's network layer that mean the database connection was lost. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ENOSPC', 'EIO']);

/**
 * An error that says nothing about the work but about the database's condition, which may clear
 * by itself: the disk or the database is full, an I/O error, the file is busy or locked, the
 * connection was lost, PostgreSQL is short of resources (class 53), shutting down or starting
 * (57P01 to 57P05), or its connection failed (class 08); a deadlock or serialization victim too.
 * Work that failed so is worth running again later.
 */
export function isTransient(error: unknown): boolean {
  const code = (error as DriverError)?.code;
  if (typeof code === 'string') {
    if (/^SQLITE_(FULL|IOERR|BUSY|LOCKED|PROTOCOL|NOMEM|CANTOPEN|ABORT)/.test(code)) return true;
    if (/^(53...|57P0[1-5]|08...|40001|40P01)$/.test(code)) return true;
    if (NETWORK_CODES.has(code)) return true;
  }
  // pg reports a connection that ended under a query without a code.
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test((error as DriverError)?.message ?? '');
}
