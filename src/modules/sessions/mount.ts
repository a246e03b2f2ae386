/**
 * The console's sign-in, as the app mounts it: the public routes (sign-in by password, single
 * sign-on), the API
 * scope's routes (the session, sign-outs, one-time passwords), the admin API's (passwords, TOTP
 * resets), and how the API scope's guard resolves the session cookie.
 */
import type { Config } from '../../config/config.js';
import type { Route } from '../../http/operation.js';
import type { SessionAuth } from '../../plugins/auth.js';
import type { Services } from '../../services.js';
import { SignInGuard } from './guard.js';
import { OidcService } from './oidc.js';
import { oidcRoutes } from './oidc-routes.js';
import { passwordRoutes, sessionAuth, sessionRoutes, signInRoute } from './routes.js';
import { totpAdminRoutes, totpRoutes } from './totp-routes.js';

export interface ConsoleSignIn {
  /** Routes that take no token. */
  publicRoutes: Route[];
  /** Routes of the API scope (a session cookie or a token). */
  apiRoutes: Route[];
  /** Routes of the admin API (in the API scope, and in the served OpenAPI). */
  adminRoutes: Route[];
  auth: SessionAuth;
}

export function consoleSignIn(services: Services, config: Config): ConsoleSignIn {
  const guard = new SignInGuard(services.sessions, config.authThrottle);
  const { sessions, directory, tokens } = services;
  const oidc = config.oidc && new OidcService(config.oidc, sessions, directory, tokens.keyRing, config.tenant);
  return {
    publicRoutes: [signInRoute(services, guard, config.tenant), ...oidcRoutes(services, oidc)],
    apiRoutes: [...sessionRoutes(services), ...totpRoutes(services, guard)],
    adminRoutes: [...passwordRoutes(services), ...totpAdminRoutes(services)],
    auth: sessionAuth(services),
  };
}
