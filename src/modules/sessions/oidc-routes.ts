/**
 * Single sign-on's routes, public (they take no token):
 * - `GET /console/api/sign-in-options`: `{"sso": boolean}`, what the sign-in page offers;
 * - `GET /console/api/oidc/login`: 302 to the provider, with the sealed state in a cookie of 10
 *   minutes (`nelm_oidc`, HttpOnly, SameSite=Lax, Path=/console/api/oidc); 404 when single sign-on
 *   is not configured;
 * - `GET /console/api/oidc/callback`: where the provider sends the browser back; 303 to
 *   `/console/` signed in, or to `/console/?signInError=<reason>` (never a 500: every failure is a
 *   reason the console can tell).
 */
import type { FastifyReply } from 'fastify';
import { fail } from '../../errors/api-error.js';
import { type Route, route } from '../../http/operation.js';
import { ErrorResponses } from '../../http/shared-schemas.js';
import { cookieValue } from '../../plugins/auth.js';
import type { Services } from '../../services.js';
import { LOGIN_SECONDS, OidcRefused, type OidcService } from './oidc.js';
import { setSessionCookie } from './routes.js';
import { SignInOptions } from './schemas.js';

const STATE_COOKIE = 'nelm_oidc';
const tag = 'Console';

function stateCookie(value: string, maxAge: number, secure: boolean): string {
  return [`${STATE_COOKIE}=${value}`, 'Path=/console/api/oidc', `Max-Age=${maxAge}`, 'HttpOnly', 'SameSite=Lax', ...(secure ? ['Secure'] : [])].join('; ');
}

function toConsole(reply: FastifyReply, reason?: string): FastifyReply {
  reply.header('Cache-Control', 'no-store');
  return reply.redirect(reason ? `/console/?signInError=${encodeURIComponent(reason)}` : '/console/', 303);
}

export function oidcRoutes(services: Services, oidc: OidcService | undefined): Route[] {
  const secure = services.sessions.settings.secureCookie;
  const configured = () => {
    if (!oidc) throw fail.notFound('Single sign-on is not configured (NELM_OIDC_ISSUER).');
    return oidc;
  };
  return [
    route({
      id: 'getSignInOptions',
      method: 'GET',
      url: '/console/api/sign-in-options',
      tag,
      summary: 'How people may sign in: whether single sign-on is configured',
      schema: { response: { 200: SignInOptions, ...ErrorResponses } },
      handler: async () => ({ sso: oidc !== undefined }),
    }),
    route({
      id: 'beginOidcSignIn',
      method: 'GET',
      url: '/console/api/oidc/login',
      tag,
      summary: "Single sign-on: redirects to the organisation's OpenID provider",
      schema: { response: { ...ErrorResponses } },
      handler: async (request, reply) => {
        const service = configured();
        try {
          const { url, sealed } = await service.begin();
          reply.header('Set-Cookie', stateCookie(sealed, LOGIN_SECONDS, secure));
          reply.header('Cache-Control', 'no-store');
          return reply.redirect(url, 302);
        } catch (error) {
          if (!(error instanceof OidcRefused)) throw error;
          request.log.warn({ reason: error.reason, detail: error.detail }, 'single sign-on unavailable');
          return toConsole(reply, error.reason);
        }
      },
    }),
    route({
      id: 'finishOidcSignIn',
      method: 'GET',
      url: '/console/api/oidc/callback',
      tag,
      summary: 'Single sign-on: where the OpenID provider sends the browser back; redirects to the console',
      schema: { response: { ...ErrorResponses } },
      handler: async (request, reply) => {
        const service = configured();
        const at = request.url.indexOf('?');
        const query = at < 0 ? '' : request.url.slice(at);
        reply.header('Set-Cookie', stateCookie('', 0, secure));
        try {
          const signedIn = await service.finish(query, cookieValue(request.headers.cookie, STATE_COOKIE), request.ip);
          setSessionCookie(reply, services, signedIn);
          return toConsole(reply);
        } catch (error) {
          if (!(error instanceof OidcRefused)) {
            request.log.error({ err: error }, 'single sign-on failed');
            return toConsole(reply, 'failed');
          }
          request.log.warn({ reason: error.reason, detail: error.detail, address: request.ip }, 'single sign-on refused');
          return toConsole(reply, error.reason);
        }
      },
    }),
  ];
}
