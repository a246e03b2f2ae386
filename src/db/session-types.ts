/** The tables of people signing in (migration 20261211_0017_sessions; docs/security.md). */

/** An identity's password: `scrypt$N$r$p$salt$hash` (src/auth/passwords.ts). */
export interface IdentityPasswordTable {
  tenant_id: string;
  identity_id: string;
  hash: string;
  modified: string;
}

/** A console session, keyed by the SHA-256 (hex) of the id its cookie holds. */
export interface SessionTable {
  id_hash: string;
  tenant_id: string;
  identity_id: string;
  /** The address it was signed in from. */
  address: string;
  created: string;
  last_seen: string;
}

export interface SessionTables {
  identity_passwords: IdentityPasswordTable;
  sessions: SessionTable;
}
