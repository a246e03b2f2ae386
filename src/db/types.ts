/**
 * Table types as stored. They are the database's shapes, not the API's: repositories map them to
 * domain objects. Conventions on both engines:
 * - every tenant-owned table starts its keys with tenant_id;
 * - timestamps are ISO 8601 UTC strings in JS (TEXT in SQLite, timestamptz in PostgreSQL, normalised
 *   by the pg type parser in connect.ts);
 * - booleans are 0/1 integers (better-sqlite3 binds no booleans);
 * - JSON columns are TEXT in SQLite and jsonb in PostgreSQL (see `parseJson`).
 */

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
  start_date: string;
  end_date: string;
  /** JSON object of custom attributes (TEXT in SQLite, jsonb in PostgreSQL). */
  data: unknown;
  created: string;
  modified: string;
}

export interface Database {
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
}

