/**
 * Table types as stored. They are the database's shapes, not the API's: each module's model.ts
 * maps them to domain objects. Conventions on both engines:
 * - every tenant-owned table starts its keys with tenant_id;
 * - timestamps are ISO 8601 UTC strings in JS (TEXT in SQLite, timestamptz in PostgreSQL, whose
 *   text postgres.ts rewrites);
 * - booleans are 0/1 integers (better-sqlite3 binds no booleans);
 * - JSON columns are JSON text in JS (TEXT in SQLite, json in PostgreSQL, whose text postgres.ts
 *   hands over unparsed).
 */
import type { Generated } from 'kysely';
import type { ExportTables, RateLimitTables } from './coordination-types.js';
import type { SessionTables } from './session-types.js';
import type { LifecycleDigestLineTable, LifecycleDigestTable, LifecycleDoneTable, LifecycleDueTable, LifecyclePolicyTable } from './lifecycle-types.js';

export type Flag = 0 | 1;

export interface TenantTable {
  id: string;
  name: string;
  source_count: number;
  created: string;
}

export interface IdentityTable {
  tenant_id: string;
  id: string;
  alias: string;
  name: string | null;
  email: string | null;
  admin: Flag;
  /** Comma-separated rights such as `idn:nesr:read,idn:nesr:create`. */
  rights: string;
  disabled: Flag;
  created: string;
  modified: string;
}

export interface ApiClientTable {
  tenant_id: string;
  client_id: string;
  identity_id: string;
  /** scrypt$N$r$p$salt$hash (see auth/secrets.ts). */
  secret_hash: string;
  created: string;
}

export interface SigningKeyTable {
  kid: string;
  alg: string;
  private_jwk: string;
  public_jwk: string;
  created: string;
  /** Set when a newer key took over signing; the key still verifies tokens until they expire. */
  retired: string | null;
}

export interface WorkgroupTable {
  tenant_id: string;
  id: string;
  name: string;
  description: string | null;
  created: string;
  modified: string;
}

export interface WorkgroupMemberTable {
  tenant_id: string;
  workgroup_id: string;
  identity_id: string;
}

export interface SourceTable {
  tenant_id: string;
  id: string;
  /** The ISC source id paired with this non-employee source (`sourceId` on the wire). */
  isc_source_id: string;
  name: string;
  description: string;
  owner_id: string;
  management_workgroup: string | null;
  cloud_external_id: string;
  record_count: number;
  custom_attribute_count: number;
  created: string;
  modified: string;
}

export type PrincipalType = 'IDENTITY' | 'GOVERNANCE_GROUP';
export type SourceRole = 'APPROVER' | 'ACCOUNT_MANAGER';

export interface SourceMemberTable {
  tenant_id: string;
  source_id: string;
  role: SourceRole;
  position: number;
  principal_type: PrincipalType;
  principal_id: string;
}

export interface SchemaAttributeTable {
  tenant_id: string;
  id: string;
  source_id: string;
  position: number;
  system: Flag;
  type: string;
  label: string;
  technical_name: string;
  help_text: string | null;
  placeholder: string | null;
  required: Flag;
  created: string;
  modified: string;
}

export interface RecordTable {
  tenant_id: string;
  id: string;
  source_id: string;
  account_name: string;
  first_name: string;
  last_name: string;
  email: string;
  phone: string;
  manager: string;
  /** The instants, in UTC. */
  start_date: string;
  end_date: string;
  /** The offsets the dates were written with: `Z` or `±HH:MM`. */
  start_zone: string;
  end_zone: string;
  /** The custom attributes: a JSON object of strings. */
  data: string;
  created: string;
  modified: string;
}

export type BulkJobStatus = 'PENDING' | 'IN_PROGRESS' | 'COMPLETED' | 'ERROR';

export interface BulkJobTable {
  /** Creation order (autoincrement / bigserial); jobs of one source run in this order. */
  seq: Generated<number>;
  tenant_id: string;
  id: string;
  source_id: string;
  status: BulkJobStatus;
  requested_by: string;
  file_name: string | null;
  file_size: number;
  row_count: number;
  created_count: Generated<number>;
  updated_count: Generated<number>;
  unchanged_count: Generated<number>;
  failed_count: Generated<number>;
  error_count: Generated<number>;
  message: string | null;
  attempts: Generated<number>;
  /** The worker processing the job while IN_PROGRESS. */
  claimed_by: string | null;
  /** Claimed no earlier; the oldest goes first (see repository.ts). Set by every insert. */
  run_after: string;
  /** While IN_PROGRESS: the worker's claim holds until then. */
  lease_until: string | null;
  /** The first of the transient database failures in a row that put the job back in the queue. */
  failing_since: string | null;
  created: string;
  modified: string;
  started: string | null;
  finished: string | null;
}

/** A part of a job's uploaded CSV (blob / bytea), kept until the job ends. */
export interface BulkJobPartTable {
  job_seq: number;
  /** 0, 1, 2…: the file is the parts in this order. */
  part: number;
  bytes: Buffer;
}

export interface BulkJobErrorTable {
  tenant_id: string;
  job_id: string;
  position: number;
  line: number | null;
  column_name: string | null;
  value: string | null;
  message: string;
}

export type RequestStatusColumn = 'PENDING' | 'APPROVED' | 'REJECTED' | 'CANCELLED';
export type ApprovalStatusColumn = RequestStatusColumn | 'NOT_READY';

/** A non-employee request: a record waiting for its source's approvers. */
export interface RequestTable {
  tenant_id: string;
  id: string;
  source_id: string;
  requester_id: string;
  account_name: string;
  first_name: string;
  last_name: string;
  email: string;
  phone: string;
  manager: string;
  /** The instants, in UTC. */
  start_date: string;
  end_date: string;
  /** The offsets the dates were written with: `Z` or `±HH:MM`. */
  start_zone: string;
  end_zone: string;
  /** The custom attributes: a JSON object of strings. */
  data: string;
  approval_status: RequestStatusColumn;
  /** What the requester wrote when filing the request. */
  comment: string | null;
  completion_date: string | null;
  /** The record created when the request was approved. */
  record_id: string | null;
  created: string;
  modified: string;
}

/** One approver's step of a request; `approval_order` is 1-based. */
export interface ApprovalItemTable {
  tenant_id: string;
  id: string;
  request_id: string;
  approval_order: number;
  approver_type: PrincipalType;
  approver_id: string;
  approval_status: ApprovalStatusColumn;
  comment: string | null;
  /** The identity that decided (a member, when the approver is a governance group). */
  decided_by: string | null;
  created: string;
  modified: string;
}

export type NotificationStatus = 'PENDING' | 'SENT' | 'UNDELIVERABLE' | 'FAILED';

/** The notification outbox: written in the transaction of the change it tells about. */
export interface NotificationTable {
  tenant_id: string;
  id: string;
  kind: string;
  recipient_id: string;
  request_id: string | null;
  subject: string;
  body: string;
  status: NotificationStatus;
  attempts: number;
  next_attempt_at: string;
  sent_at: string | null;
  last_error: string | null;
  created: string;
}

/** One event of a tenant's hash chain (docs/events.md); append-only. */
export interface EventTable {
  tenant_id: string;
  /** The event's place in its tenant's chain: 1, 2, 3… */
  seq: number;
  id: string;
  type: string;
  time: string;
  /** Null when the system made the change. */
  actor_id: string | null;
  actor_alias: string | null;
  target_type: string;
  target_id: string;
  source_id: string | null;
  /** JSON text, exactly as hashed. */
  data: string;
  prev_hash: string;
  hash: string;
}

/** A tenant's chain: its head (the last event) and its checkpoint (the last pruned event; 0 and the genesis hash when none). */
export interface EventChainTable {
  tenant_id: string;
  head_seq: number;
  head_hash: string;
  checkpoint_seq: number;
  checkpoint_hash: string;
}

/** A consumer of the event log (src/modules/events/consumers.ts), from its first start. */
export interface EventConsumerTable {
  name: string;
  created: string;
}

/** How far a consumer has read a tenant's chain: the last `seq` it consumed. */
export interface EventCursorTable {
  tenant_id: string;
  consumer: string;
  position: number;
  modified: string;
}

/** A webhook endpoint (docs/events.md, Webhooks). */
export interface WebhookTable {
  tenant_id: string;
  id: string;
  url: string;
  /** JSON array of event types and patterns (`record.*`, `*`). */
  events: string;
  description: string | null;
  enabled: Flag;
  disabled_reason: string | null;
  /** Sealed under the key-encryption key (auth/key-encryption.ts). */
  secret: string;
  previous_secret: string | null;
  /** Until when the previous secret signs too. */
  previous_secret_until: string | null;
  /** Who created it: told by mail when the server disables it. */
  owner_id: string;
  /** The seq of its `webhook.created` event; earlier events are not delivered to it. */
  from_seq: number;
  /** The first failed attempt since the last success. */
  failing_since: string | null;
  /** While a process delivers to it: its claim holds until then. */
  lease_until: string | null;
  claimed_by: string | null;
  /** When it was last claimed: endpoints take turns. */
  claimed_at: string;
  created: string;
  modified: string;
}

export type WebhookDeliveryStatus = 'PENDING' | 'RETRYING' | 'SUCCEEDED' | 'FAILED';

/** One event (or test message) to send to one endpoint. */
export interface WebhookDeliveryTable {
  /** Commit order of the events; an endpoint's deliveries go out in this order. */
  seq: Generated<number>;
  tenant_id: string;
  id: string;
  webhook_id: string;
  /** The `webhook-id` header: the event's id. */
  event_id: string;
  event_type: string;
  /** The JSON body sent on every attempt. */
  payload: string;
  status: WebhookDeliveryStatus;
  /** Attempts made (a process stopped mid-attempt makes none). */
  attempts: number;
  /** RETRYING: not before then. */
  next_attempt_at: string;
  last_attempt_at: string | null;
  created: string;
}

/** One attempt of a delivery. */
export interface WebhookAttemptTable {
  tenant_id: string;
  delivery_id: string;
  /** 1, 2, 3… */
  number: number;
  webhook_id: string;
  time: string;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  /** The start of the response's body (1 KiB at most). */
  response_body: string | null;
}

export interface Database extends SessionTables, ExportTables, RateLimitTables {
  tenants: TenantTable;
  identities: IdentityTable;
  api_clients: ApiClientTable;
  signing_keys: SigningKeyTable;
  workgroups: WorkgroupTable;
  workgroup_members: WorkgroupMemberTable;
  sources: SourceTable;
  source_members: SourceMemberTable;
  schema_attributes: SchemaAttributeTable;
  records: RecordTable;
  requests: RequestTable;
  approval_items: ApprovalItemTable;
  notifications: NotificationTable;
  bulk_jobs: BulkJobTable;
  bulk_job_parts: BulkJobPartTable;
  bulk_job_errors: BulkJobErrorTable;
  events: EventTable;
  event_chains: EventChainTable;
  event_consumers: EventConsumerTable;
  event_cursors: EventCursorTable;
  webhooks: WebhookTable;
  webhook_deliveries: WebhookDeliveryTable;
  webhook_attempts: WebhookAttemptTable;
  lifecycle_policies: LifecyclePolicyTable;
  lifecycle_due: LifecycleDueTable;
  lifecycle_done: LifecycleDoneTable;
  lifecycle_digests: LifecycleDigestTable;
  lifecycle_digest_lines: LifecycleDigestLineTable;
}
