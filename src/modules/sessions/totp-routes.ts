/**
 * One-time passwords, for the person signed in (a console session; CSRF as on every write):
 * - `POST /console/api/session/totp`: begins (or begins again) an enrolment: a new secret and its
 *   otpauth URI, shown this once; not in force until confirmed;
 * - `PUT /console/api/session/totp` `{code}`: confirms the enrolment with a code of its secret;
 * - `DELETE /console/api/session/totp` `{code}`: removes it;
 * and the admin API's `DELETE /admin/v1/identities/{id}/totp` (org admins: a lost phone).
 * A session held back by NELM_CONSOLE_REQUIRE_TOTP may call these, `GET /console/api/session`
 * and the sign-outs, nothing else (`enrolmentOnly`).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { normalizeId } from '../../domain/ids.js';
import { fail } from '../../errors/api-error.js';
import { type Route, route } from '../../http/operation.js';
import { ErrorResponses } from '../../http/shared-schemas.js';
import { adminOf, type CookieSession, principalOf } from '../../plugins/auth.js';
import type { Services } from '../../services.js';
import type { SignInGuard } from './guard.js';
import { IdParam } from '../directory/schemas.js';
import { actorOf } from '../events/model.js';
import { TotpCodeBody, TotpEnrolment } from './schemas.js';

const URL = '/console/api/session/totp';
const tag = 'Console';

/** The routes a session held back until its identity enrols a one-time password may call. */
const ENROLMENT_ROUTES = new Set([
  'GET /console/api/session',
  'DELETE /console/api/session',
  'DELETE /console/api/sessions',
  ...['POST', 'PUT', 'DELETE'].map((m) => `${m} ${URL}`),
]);

export const enrolmentOnly: NonNullable<CookieSession['limitedTo']> = {
  allows: (method, url) => ENROLMENT_ROUTES.has(`${method} ${url}`),
  message: 'Enrol a one-time password first (POST, then PUT /console/api/session/totp): an org admin needs one to use the console.',
};

/** The caller's identity, when the request came with a console session. */
function sessionIdentity(request: FastifyRequest): { tenantId: string; identityId: string } {
  if (!request.cookieSession) throw fail.notFound('This request was not made with a console session cookie.');
  return principalOf(request);
}

export function totpRoutes({ sessions }: Services, guard: SignInGuard): Route[] {
  const { totp } = sessions;
  return [
    route({
      id: 'beginTotpEnrolment',
      method: 'POST',
      url: URL,
      tag,
      summary: 'Begin enrolling a one-time password: its secret and otpauth URI, shown once',
      schema: { response: { 200: TotpEnrolment, ...ErrorResponses } },
      handler: async (request, reply) => {
        const { tenantId, identityId } = sessionIdentity(request);
        reply.header('Cache-Control', 'no-store');
        return totp.begin(tenantId, identityId);
      },
    }),
    route({
      id: 'confirmTotpEnrolment',
      method: 'PUT',
      url: URL,
      tag,
      summary: 'Confirm the enrolment with a code of its secret',
      schema: { body: TotpCodeBody, response: { 204: Type.Null(), ...ErrorResponses } },
      handler: async (request, reply) => {
        const { tenantId, identityId } = sessionIdentity(request);
        await totp.confirm(tenantId, identityId, request.body.code);
        return reply.code(204).send(null);
      },
    }),
    route({
      id: 'removeTotp',
      method: 'DELETE',
      url: URL,
      tag,
      summary: 'Remove my one-time password, with a code of it',
      schema: { body: TotpCodeBody, response: { 204: Type.Null(), ...ErrorResponses } },
      handler: async (request, reply) => {
        const { tenantId, identityId } = sessionIdentity(request);
        await guard.removeTotp(tenantId, identityId, request.body.code);
        return reply.code(204).send(null);
      },
    }),
  ];
}

/** `DELETE /admin/v1/identities/{id}/totp`: part of the admin API (org admins). */
export function totpAdminRoutes({ sessions }: Services): Route[] {
  return [
    route({
      id: 'resetIdentityTotp',
      method: 'DELETE',
      url: '/admin/v1/identities/:id/totp',
      tag: 'Admin',
      summary: "Reset an identity's one-time password (a lost phone): it signs in with its password alone, or enrols again",
      schema: { params: IdParam, response: { 204: Type.Null(), ...ErrorResponses } },
      handler: async (request, reply) => {
        const principal = adminOf(request, 'use the admin API');
        const id = normalizeId(request.params.id);
        // A console session removes its own only with a code of it: a stolen session cannot.
        if (request.cookieSession && id === principal.identityId) {
          throw fail.forbidden('Your own one-time password is removed with DELETE /console/api/session/totp and a code of it.');
        }
        await sessions.totp.reset(principal.tenantId, id, actorOf(principal));
        return reply.code(204).send(null);
      },
    }),
  ];
}
