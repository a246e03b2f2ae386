/** Who is calling: decoded from a verified access token and attached to every API request. */
import { isId, normalizeId } from '../domain/ids.js';
import { assertThat, fail } from '../errors/api-error.js';

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

/**
 * The identity a `requested-for` parameter names: `me` (any case) or the caller's own id is the
 * caller (`self`); another identity's id (32 hex or a dashed UUID) is that identity. Anything else
 * is a 400.1.1 naming the parameter, on every operation that takes it.
 */
export function requestedIdentity(principal: Principal, raw: string): { self: boolean; identityId: string } {
  const value = raw.trim();
  if (value.toLowerCase() === 'me') return { self: true, identityId: principal.identityId };
  assertThat(isId(value), () => fail.illegalValue('requested-for', `requested-for must be "me" or an identity id, got "${value}"`));
  const identityId = normalizeId(value);
  return { self: identityId === principal.identityId, identityId };
}
