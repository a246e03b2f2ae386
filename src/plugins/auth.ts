/**
 * The API scope's guard: every route registered inside it needs a valid bearer token, or a
 * console session's cookie. The caller is attached to the request as `request.principal`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';
import { TokenError, type TokenService, type VerifiedToken } from '../auth/tokens.js';
import { UnauthorizedError } from '../http/errors.js';
import { RetryLaterError } from '../errors/api-error.js';
import type { FailureThrottle } from '../auth/throttle.js';
import { fail } from '../errors/api-error.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** The console session the request was authenticated by, if it was. */
    cookieSession: CookieSession | null;
  }
}

/** A console session, as the guard needs it. */
export interface CookieSession {
  principal: Principal;
  /** What a state-changing request must send in `X-CSRF-Token`. */
  csrfToken: string;
  /** When set, the session may call only the routes (method and route URL) this allows; others are 403 with `message`. */
  limitedTo?: { allows(method: string, url: string): boolean; message: string } | undefined;
}

/** How the guard resolves a session cookie (src/modules/sessions). */
export interface SessionAuth {
  cookie: string;
  resolve(value: string): Promise<CookieSession | undefined>;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const SESSION_VALUE = /^[A-Za-z0-9_-]{43}$/;

/** The value of cookie `name` in a Cookie header, when it is there. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of header?.split(';') ?? []) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return undefined;
}

function sameToken(sent: string | string[] | undefined, expected: string): boolean {
  if (typeof sent !== 'string') return false;
  const [a, b] = [Buffer.from(sent), Buffer.from(expected)];
  return a.length === b.length && timingSafeEqual(a, b);
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
export function requireBearerToken(
  app: FastifyInstance,
  tokens: TokenService,
  clients: ClientStatus,
  addresses: FailureThrottle,
  sessions?: SessionAuth,
): void {
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
    const cookie = header === undefined && sessions ? cookieValue(request.headers.cookie, sessions.cookie) : undefined;
    if (cookie !== undefined) return void authenticateSession(request, cookie, sessions!, addresses).then(() => done(), refuse);
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

/**
 * A request without an Authorization header that carries the session cookie: the session must be
 * live (401 otherwise, counted against the address), and a request that changes something must
 * send the session's CSRF token in `X-CSRF-Token` (403 otherwise): a page of another site can
 * make the browser send the cookie, never read the token.
 */
async function authenticateSession(request: FastifyRequest, value: string, sessions: SessionAuth, addresses: FailureThrottle): Promise<void> {
  const locked = addresses.wait(request.ip);
  if (locked > 0) throw new RetryLaterError('too many failed authentications from this address', Math.ceil(locked / 1000));
  const session = SESSION_VALUE.test(value) ? await sessions.resolve(value) : undefined;
  if (!session) throw new UnauthorizedError('the session has ended: sign in again');
  if (!SAFE_METHODS.has(request.method) && !sameToken(request.headers['x-csrf-token'], session.csrfToken)) {
    throw fail.forbidden("A request made with the session cookie that changes something must send the session's CSRF token in X-CSRF-Token.");
  }
  if (session.limitedTo && !session.limitedTo.allows(request.method, request.routeOptions.url ?? '')) throw fail.forbidden(session.limitedTo.message);
  request.principal = session.principal;
  request.cookieSession = session;
}

/** The caller of a request in the API scope. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new UnauthorizedError('JWT validation failed: no principal');
  return request.principal;
}

/** The caller, when an org admin (the admin API's rule); otherwise a 403 saying that only one may `what`. */
export function adminOf(request: FastifyRequest, what: string): Principal {
  const principal = principalOf(request);
  if (!principal.admin) throw fail.forbidden(`Only an org admin may ${what}.`);
  return principal;
}
