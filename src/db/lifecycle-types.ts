/** The lifecycle's tables (migration 20261210_0016_lifecycle; docs/lifecycle.md). */

/** A tenant's lifecycle policy (`source_id` empty) or a source's overrides, as JSON. */
export interface LifecyclePolicyTable {
  tenant_id: string;
  source_id: string;
  settings: string;
  modified: string;
}

/** The next step due of a record (`kind` record) or of a PENDING approval item (`kind` approval). */
export interface LifecycleDueTable {
  tenant_id: string;
  kind: string;
  target_id: string;
  source_id: string;
  /** What the due time derives from: the record's end date, the time the item became PENDING (ISO text). */
  basis: string;
  /** `plan`, `remind:<days>`, `expire`, `retain`, `approval_reminder`, `escalate`. */
  step: string;
  due_at: string;
}

/** A step done, once per target, basis and step. */
export interface LifecycleDoneTable {
  tenant_id: string;
  kind: string;
  target_id: string;
  basis: string;
  step: string;
  time: string;
}

/** A person's reminder digest of a day, mailed at `due_at`. */
export interface LifecycleDigestTable {
  tenant_id: string;
  recipient_id: string;
  /** YYYY-MM-DD (UTC). */
  day: string;
  due_at: string;
}

export interface LifecycleDigestLineTable {
  tenant_id: string;
  recipient_id: string;
  day: string;
  record_id: string;
  step: string;
  line: string;
}
