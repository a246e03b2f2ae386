/** Who is calling: decoded from a verified access token and attached to every API request. */

export const RIGHTS = ['idn:nesr:read', 'idn:nesr:create', 'idn:nesr:update', 'idn:nesr:delete'] as const;
export type Right = (typeof RIGHTS)[number];

export interface Principal {
  tenantId: string;
  identityId: string;
  alias: string;
  clientId: string;
  /** An org admin holds every right. */
  admin: boolean;
  rights: ReadonlySet<Right>;
}

export function isRight(value: string): value is Right {
  return (RIGHTS as readonly string[]).includes(value);
}

/** True when the caller holds the right, directly or as an org admin. */
export function hasRight(principal: Principal, right: Right): boolean {
  return principal.admin || principal.rights.has(right);
}
