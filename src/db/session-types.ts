/** The tables of people signing in (migrations 20261211_0017_sessions, 20261212_0018_totp; docs/security.md). */

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
  /** How it was signed in (migration 20261212_0018_totp). */
  method: SignInMethod;
}

export type SignInMethod = 'password' | 'oidc';

/**
 * An identity's one-time password (migration 20261212_0018_totp): secrets sealed under the
 * key-encryption key (src/auth/key-encryption.ts).
 */
export interface IdentityTotpTable {
  tenant_id: string;
  identity_id: string;
  /** The confirmed secret; null until an enrolment is confirmed. */
  secret: string | null;
  /** An enrolment begun and not yet confirmed. */
  pending: string | null;
  /** The time step of the last code taken. */
  last_step: number | null;
  enrolled: string | null;
  modified: string;
}

export interface SessionTables {
  identity_passwords: IdentityPasswordTable;
  sessions: SessionTable;
  identity_totp: IdentityTotpTable;
}
