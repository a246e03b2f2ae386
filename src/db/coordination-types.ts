/**
 * Tables through which server processes share work on one database: the scheduled exports' tick
 * claims and the sources each tick has written (migrations 20261212_0019_export_ticks and
 * 20261215_0022_export_leases; docs/operations.md) and the per-client rate limit's counters
 * (migration 20261213_0020_rate_limits; docs/operations.md).
 */

/** A tick of the export schedule, claimed by the one process that writes its files. */
export interface ExportTickTable {
  /** The tick's time, ISO 8601 UTC: the key that makes the claim once per tick. */
  tick: string;
  /** Which scheduler holds or last held the claim: host, process id and an id of its own. */
  claimed_by: string;
  claimed_at: string;
  finished_at: string | null;
  /**
   * Until when the claim holds; moved on as the tick's files are written. Unfinished past it, the
   * tick may be claimed by another process. Null for claims made before leases (never taken over).
   */
  lease_until: string | null;
  /** The claims of the tick so far (a tick given back at a stop does not count). */
  attempts: number;
}

/** A source of a tick that is done: its file written, or its `export.failed` event written. */
export interface ExportTickSourceTable {
  tick: string;
  source_id: string;
  done_at: string;
}

export interface ExportTables {
  export_ticks: ExportTickTable;
  export_tick_sources: ExportTickSourceTable;
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
