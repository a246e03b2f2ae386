/**
 * Tables through which server processes share work on one database: the scheduled exports' tick
 * claims (migration 20261212_0019_export_ticks; docs/operations.md) and the per-client rate
 * limit's counters (migration 20261213_0020_rate_limits; docs/operations.md).
 */

/** A tick of the export schedule, claimed by the one process that writes its files. */
export interface ExportTickTable {
  /** The tick's time, ISO 8601 UTC: the key that makes the claim once per tick. */
  tick: string;
  /** Which process claimed it (host and process id), for people. */
  claimed_by: string;
  claimed_at: string;
  finished_at: string | null;
}

export interface ExportTables {
  export_ticks: ExportTickTable;
}

/**
 * A rate-limit key's window (src/modules/rate-limit): the requests counted in it and when it ends.
 * Times are milliseconds since the epoch, compared as numbers in the one statement that counts.
 */
export interface RateLimitTable {
  /** The client id (or address) the limit counts, as the limiter names it. */
  key: string;
  hits: number;
  window_end: number;
}

export interface RateLimitTables {
  rate_limits: RateLimitTable;
}
