/**
 * The API scope's guard: every route registered inside it needs a valid bearer token. The caller
 * is attached to the request as `request.principal`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';
import { TokenError, type TokenService, type VerifiedToken } from '../auth/tokens.js';
import { UnauthorizedError } from '../http/errors.js';
import { RetryLaterError } from '../errors/api-error.js';
import type { FailureThrottle } from '../auth/throttle.js';

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

async function authenticate(token: string, tokens: TokenService, clients: ClientStatus): Promise<VerifiedToken> {
  let verified: VerifiedToken;
  try {
    verified = await tokens.verify(token);
  } catch (error) {
    if (error instanceof TokenError) throw new UnauthorizedError(error.message);
    throw error;
  }
  if (!(await clients.isActive(verified.principal.clientId))) throw new UnauthorizedError('JWT validation failed: the API client was deleted');
  return verified;
}

/** The last Authorization header a connection sent that was accepted, and its token. */
const LAST_ACCEPTED = Symbol('nelm.lastAcceptedAuthorization');
type Connection = { [LAST_ACCEPTED]?: { header: string; verified: VerifiedToken } };

/**
 * Verifies the bearer token of every request in this scope; tokens of API clients deleted since
 * the token was issued are refused. A token verified before, of a client known to be active, is
 * settled without waiting (the common case: one promise less per request). A keep-alive
 * connection repeats its Authorization header on every request: when it is the header accepted
 * last on that connection, neither the header is parsed nor the token looked up again (hashing a
 * JWT of ~600 characters per request was a tenth of a get's JavaScript time); the same checks
 * apply: the token neither expired nor forgotten since, its client known to be active.
 *
 * Every refusal counts as a failure of the caller's address (`addresses`); while the address is
 * locked, a token not verified before is answered 429 with `Retry-After` unread, so that clients
 * already at work from the same address keep working.
 */
export function requireBearerToken(app: FastifyInstance, tokens: TokenService, clients: ClientStatus, addresses: FailureThrottle): void {
  const accept = (request: FastifyRequest, header: string, verified: VerifiedToken) => {
    request.principal = verified.principal;
    const connection = request.raw.socket as unknown as Connection | null;
    if (connection) connection[LAST_ACCEPTED] = { header, verified };
  };
  app.addHook('onRequest', (request, _reply, done) => {
    const header = request.headers.authorization;
    const last = (request.raw.socket as unknown as Connection | null)?.[LAST_ACCEPTED];
    if (
      last !== undefined &&
      header === last.header &&
      tokens.stillVerified(last.verified) &&
      clients.cachedActive(last.verified.principal.clientId) === true
    ) {
      request.principal = last.verified.principal;
      return done();
    }
    const refuse = (error: Error) => {
      if (error instanceof UnauthorizedError) addresses.failed(request.ip);
      done(error);
    };
    let token: string;
    try {
      token = bearerToken(header);
    } catch (error) {
      return refuse(error as Error);
    }
    const known = tokens.verifiedFromCache(token);
    if (known && clients.cachedActive(known.principal.clientId) === true) {
      accept(request, header!, known);
      return done();
    }
    const locked = addresses.wait(request.ip);
    if (locked > 0) return done(new RetryLaterError('too many failed authentications from this address', Math.ceil(locked / 1000)));
    authenticate(token, tokens, clients).then((verified) => {
      accept(request, header!, verified);
      done();
    }, refuse);
  });
}

/** The caller of a request in the API scope. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new UnauthorizedError('JWT validation failed: no principal');
  return request.principal;
}
