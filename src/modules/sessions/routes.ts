/**
 * Passwords and console sessions, under one prefix, `/console/api`:
 * - `POST /console/api/session` (public): signs in with a username, a password and, for an
 *   identity with a one-time password, its code (401 with `codeRequired` when that is missing or
 *   wrong); sets the session cookie, answers the session with its CSRF token;
 * - `GET /console/api/session`: the session of the cookie, with its CSRF token;
 * - `DELETE /console/api/session`: the session of the cookie is deleted and the cookie cleared;
 * - `DELETE /console/api/sessions`: signs out everywhere (every session of the caller's identity).
 * And the admin API's `PUT /admin/v1/identities/{id}/password` (org admins).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { normalizeId } from '../../domain/ids.js';
import { fail, RetryLaterError } from '../../errors/api-error.js';
import { UnauthorizedError } from '../../http/errors.js';
import { type Route, route } from '../../http/operation.js';
import { ErrorResponses } from '../../http/shared-schemas.js';
import { principalOf } from '../../plugins/auth.js';
import type { Services } from '../../services.js';
import { IdParam } from '../directory/schemas.js';
import { actorOf } from '../events/model.js';
import type { SessionAuth } from '../../plugins/auth.js';
import type { SignInGuard } from './guard.js';
import { PasswordBody, Session, SignedOut, SignInBody, SignInRefused } from './schemas.js';
import type { ResolvedSession, SignedIn } from './service.js';
import { enrolmentOnly } from './totp-routes.js';

/** The session cookie's name. */
export const SESSION_COOKIE = 'nelm_session';
const tag = 'Console';

/** The Set-Cookie of a session: `HttpOnly`, `SameSite=Lax`, `Secure` behind HTTPS (NELM_PUBLIC_URL, or X-Forwarded-Proto from a trusted proxy); empty and expired to clear it. */
function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return [`${SESSION_COOKIE}=${value}`, 'Path=/', `Max-Age=${maxAgeSeconds}`, 'HttpOnly', 'SameSite=Lax', ...(secure ? ['Secure'] : [])].join('; ');
}

function clearCookie(reply: FastifyReply, secure: boolean): void {
  reply.header('Set-Cookie', sessionCookie('', 0, secure || reply.request.protocol === 'https'));
  reply.header('Cache-Control', 'no-store');
}

/** Sets the cookie of a session just begun (a sign-in by password or by single sign-on). */
export function setSessionCookie(reply: FastifyReply, { sessions }: Services, signedIn: SignedIn): void {
  reply.header(
    'Set-Cookie',
    sessionCookie(signedIn.token, sessions.settings.absoluteSeconds, sessions.settings.secureCookie || reply.request.protocol === 'https'),
  );
  reply.header('Cache-Control', 'no-store');
}

/** How the API scope's guard resolves the session cookie; a session held back until its identity enrols a one-time password is limited. */
export function sessionAuth({ sessions }: Services): SessionAuth {
  return {
    cookie: SESSION_COOKIE,
    resolve: async (value) => {
      const session = await sessions.resolve(value);
      return session && { ...session, limitedTo: session.totpEnrolmentRequired ? enrolmentOnly : undefined };
    },
  };
}

/** The sign-in route: in the public scope (it takes no token). */
export function signInRoute(services: Services, guard: SignInGuard, tenantId: string): Route {
  return route({
    id: 'signIn',
    method: 'POST',
    url: '/console/api/session',
    tag,
    summary: 'Sign in with a username (alias or email), a password and, for an identity with a one-time password, its code; sets the session cookie',
    schema: { body: SignInBody, response: { 200: Session, ...ErrorResponses, 401: SignInRefused } },
    handler: async (request, reply) => {
      const { username, password, code } = request.body;
      const attempt = await guard.signIn(tenantId, username, password, request.ip, code);
      if (!attempt.ok && 'retryAfterSeconds' in attempt) {
        request.log.warn({ username: username.slice(0, 256), address: request.ip, reason: attempt.reason }, 'sign-in refused unchecked');
        throw new RetryLaterError('too many failed sign-ins', attempt.retryAfterSeconds);
      }
      if (!attempt.ok) {
        request.log.info({ username: username.slice(0, 256), address: request.ip, reason: attempt.reason }, 'sign-in refused');
        if (attempt.reason === 'code_required') return reply.code(401).send({ error: 'a one-time code is required', codeRequired: true });
        if (['wrong_code', 'reused_code', 'unreadable_secret'].includes(attempt.reason)) {
          return reply.code(401).send({ error: 'wrong one-time code', codeRequired: true });
        }
        if (attempt.reason === 'disabled') return reply.code(401).send({ error: 'this account is disabled: ask an org admin' });
        throw new UnauthorizedError('wrong username or password');
      }
      setSessionCookie(reply, services, attempt.signedIn);
      return attempt.signedIn.session;
    },
  });
}

function cookieSessionOf(request: FastifyRequest): ResolvedSession {
  const session = request.cookieSession as ResolvedSession | null;
  if (!session) throw fail.notFound('This request was not made with a console session cookie.');
  return session;
}

/** The routes of the API scope: a session (or a token, for signing out everywhere) authenticates them. */
export function sessionRoutes({ sessions }: Services): Route[] {
  const secure = sessions.settings.secureCookie;
  return [
    route({
      id: 'getSession',
      method: 'GET',
      url: '/console/api/session',
      tag,
      summary: 'The session of the cookie, with its CSRF token',
      schema: { response: { 200: Session, ...ErrorResponses } },
      handler: async (request, reply) => {
        const view = await sessions.view(cookieSessionOf(request));
        if (!view) throw new UnauthorizedError('the session has ended: sign in again');
        reply.header('Cache-Control', 'no-store');
        return view;
      },
    }),
    route({
      id: 'signOut',
      method: 'DELETE',
      url: '/console/api/session',
      tag,
      summary: 'Sign out: end the session of the cookie',
      schema: { response: { 200: SignedOut, ...ErrorResponses } },
      handler: async (request, reply) => {
        const session = cookieSessionOf(request);
        const sessionsEnded = await sessions.signOut(principalOf(request), request.ip, session, false);
        clearCookie(reply, secure);
        return { sessionsEnded };
      },
    }),
    route({
      id: 'signOutEverywhere',
      method: 'DELETE',
      url: '/console/api/sessions',
      tag,
      summary: "Sign out everywhere: end every session of the caller's identity",
      schema: { response: { 200: SignedOut, ...ErrorResponses } },
      handler: async (request, reply) => {
        const sessionsEnded = await sessions.signOut(principalOf(request), request.ip, undefined, true);
        if (request.cookieSession) clearCookie(reply, secure);
        return { sessionsEnded };
      },
    }),
  ];
}

/** `PUT /admin/v1/identities/{id}/password`: part of the admin API (org admins). */
export function passwordRoutes({ sessions }: Services): Route[] {
  return [
    route({
      id: 'setIdentityPassword',
      method: 'PUT',
      url: '/admin/v1/identities/:id/password',
      tag: 'Admin',
      summary: "Set an identity's password (it ends the identity's console sessions)",
      schema: { params: IdParam, body: PasswordBody, response: { 204: Type.Null(), ...ErrorResponses } },
      handler: async (request, reply) => {
        const principal = principalOf(request);
        if (!principal.admin) throw fail.forbidden('Only an org admin may use the admin API.');
        await sessions.setPassword(principal.tenantId, normalizeId(request.params.id), request.body.password, actorOf(principal));
        return reply.code(204).send(null);
      },
    }),
  ];
}
