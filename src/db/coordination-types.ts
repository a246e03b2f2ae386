/** The table of scheduled exports (migration 20261212_0019_export_ticks; docs/operations.md). */

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
