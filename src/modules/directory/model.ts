/** The directory's objects: identities and governance groups, and the mapping of their rows. */
import { isRight, type Right } from '../../auth/principal.js';
import type { IdentityTable, PrincipalType, WorkgroupTable } from '../../db/types.js';

export interface Identity {
  id: string;
  alias: string;
  name: string | null;
  email: string | null;
  admin: boolean;
  rights: Right[];
  /** A disabled identity gets no token and no session; its tokens and sessions are refused. */
  disabled: boolean;
}

export interface Workgroup {
  id: string;
  name: string;
  description: string | null;
  members: string[];
  created: string;
  modified: string;
}

/** Who a source names as approver or account manager: an identity or a governance group. */
export interface Member {
  type: PrincipalType;
  id: string;
}

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

export function toIdentity(row: IdentityTable): Identity {
  return {
    id: row.id,
    alias: row.alias,
    name: row.name,
    email: row.email,
    admin: row.admin === 1,
    rights: row.rights.split(',').filter((r): r is Right => isRight(r)),
    disabled: row.disabled === 1,
  };
}

export function toWorkgroup(row: WorkgroupTable, members: string[]): Workgroup {
  return { id: row.id, name: row.name, description: row.description, members, created: row.created, modified: row.modified };
}
