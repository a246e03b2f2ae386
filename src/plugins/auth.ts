/**
 * The API scope's guard: every route registered inside it needs a valid bearer token. The caller
 * is attached to the request as `request.principal`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';
import { TokenError, type TokenService } from '../auth/tokens.js';
import { UnauthorizedError } from '../http/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const BEARER = /^Bearer[ \t]+([A-Za-z0-9._~+/=-]+)[ \t]*$/i;

/**
 * Verifies the bearer token of every request in this scope; `isClientActive` refuses tokens of
 * API clients deleted since the token was issued.
 */
export function requireBearerToken(app: FastifyInstance, tokens: TokenService, isClientActive: (clientId: string) => Promise<boolean>): void {
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    if (!header) throw new UnauthorizedError('JWT validation failed: no Authorization header');
    const match = BEARER.exec(header);
    if (!match?.[1]) throw new UnauthorizedError('JWT validation failed: Authorization header is not a bearer token');
    let principal: Principal;
    try {
      principal = await tokens.verify(match[1]);
    } catch (error) {
      if (error instanceof TokenError) throw new UnauthorizedError(error.message);
      throw error;
    }
    if (!(await isClientActive(principal.clientId))) throw new UnauthorizedError('JWT validation failed: the API client was deleted');
    request.principal = principal;
  });
}

/** The caller of a request in the API scope. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new UnauthorizedError('JWT validation failed: no principal');
  return request.principal;
}
