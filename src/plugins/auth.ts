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

/** How the guard learns whether an API client still exists (answers cached by the directory). */
export interface ClientStatus {
  /** The cached answer, when there is a fresh one. */
  cachedActive(clientId: string): boolean | undefined;
  isActive(clientId: string): Promise<boolean>;
}

function bearerToken(header: string | undefined): string {
  if (!header) throw new UnauthorizedError('JWT validation failed: no Authorization header');
  const match = BEARER.exec(header);
  if (!match?.[1]) throw new UnauthorizedError('JWT validation failed: Authorization header is not a bearer token');
  return match[1];
}

async function authenticate(token: string, tokens: TokenService, clients: ClientStatus): Promise<Principal> {
  let principal: Principal;
  try {
    principal = await tokens.verify(token);
  } catch (error) {
    if (error instanceof TokenError) throw new UnauthorizedError(error.message);
    throw error;
  }
  if (!(await clients.isActive(principal.clientId))) throw new UnauthorizedError('JWT validation failed: the API client was deleted');
  return principal;
}

/**
 * Verifies the bearer token of every request in this scope; tokens of API clients deleted since
 * the token was issued are refused. A token verified before, of a client known to be active, is
 * settled without waiting (the common case: one promise less per request).
 */
export function requireBearerToken(app: FastifyInstance, tokens: TokenService, clients: ClientStatus): void {
  app.addHook('onRequest', (request, _reply, done) => {
    let token: string;
    try {
      token = bearerToken(request.headers.authorization);
    } catch (error) {
      return done(error as Error);
    }
    const known = tokens.verifiedFromCache(token);
    if (known && clients.cachedActive(known.clientId) === true) {
      request.principal = known;
      return done();
    }
    authenticate(token, tokens, clients).then((principal) => {
      request.principal = principal;
      done();
    }, done);
  });
}

/** The caller of a request in the API scope. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new UnauthorizedError('JWT validation failed: no principal');
  return request.principal;
}
