/**
 * The configuration of single sign-on (OpenID Connect) for the console, read from the environment
 * by config.ts (docs/configuration.md, "Single sign-on").
 */

/** Which claim of the provider's names the identity (docs/security.md, "Single sign-on"). */
export type OidcClaim = 'email' | 'alias';

export interface OidcSettings {
  /** The provider's issuer URL (its discovery document is `/.well-known/openid-configuration` below it). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  claim: OidcClaim;
  /** Space-separated; always holds `openid`. */
  scopes: string;
  /** `${NELM_PUBLIC_URL}/console/api/oidc/callback`. */
  redirectUri: string;
  /**
   * An `http://` issuer on a loopback host (a provider on the same machine, the tests'): the client
   * library's requests to it are allowed over plain HTTP. Never for any other host.
   */
  loopbackHttp: boolean;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** NELM_OIDC_*: undefined when single sign-on is not configured; each problem in `problems`. */
export function oidcSettings(env: NodeJS.ProcessEnv, publicUrl: string | undefined, problems: string[]): OidcSettings | undefined {
  const read = (name: string) => env[name]?.trim() || undefined;
  const issuer = read('NELM_OIDC_ISSUER');
  const clientId = read('NELM_OIDC_CLIENT_ID');
  // Never echoed: it is a secret.
  const clientSecret = env.NELM_OIDC_CLIENT_SECRET || undefined;
  const claim = (read('NELM_OIDC_CLAIM') ?? 'email').toLowerCase();
  const scopes = (read('NELM_OIDC_SCOPES') ?? 'openid email profile').split(/\s+/).join(' ');
  if (issuer === undefined) {
    const stray = ['NELM_OIDC_CLIENT_ID', 'NELM_OIDC_CLIENT_SECRET', 'NELM_OIDC_CLAIM', 'NELM_OIDC_SCOPES'].filter((name) => read(name) !== undefined);
    if (stray.length > 0) problems.push(`${stray.join(', ')} set without NELM_OIDC_ISSUER: set it too for single sign-on, or unset them`);
    return undefined;
  }
  const before = problems.length;
  let url: URL | undefined;
  try {
    url = new URL(issuer);
  } catch {
    problems.push(`NELM_OIDC_ISSUER must be a URL such as https://login.example.com/realms/staff, got '${issuer}'`);
  }
  const loopbackHttp = url?.protocol === 'http:' && LOOPBACK.has(url.hostname);
  if (url && url.protocol !== 'https:' && !loopbackHttp) {
    problems.push(`NELM_OIDC_ISSUER must be an https:// URL (http:// only on localhost, 127.0.0.1 or [::1]), got '${issuer}'`);
  }
  if (clientId === undefined) problems.push('NELM_OIDC_CLIENT_ID must be set with NELM_OIDC_ISSUER: the client id the provider gave the console');
  if (clientSecret === undefined) problems.push('NELM_OIDC_CLIENT_SECRET must be set with NELM_OIDC_ISSUER: the client secret the provider gave the console');
  if (claim !== 'email' && claim !== 'alias') problems.push(`NELM_OIDC_CLAIM must be 'email' or 'alias', got '${claim}'`);
  if (!scopes.split(' ').includes('openid')) problems.push(`NELM_OIDC_SCOPES must include openid, got '${scopes}'`);
  if (publicUrl === undefined) {
    problems.push('NELM_PUBLIC_URL must be set with NELM_OIDC_ISSUER: the provider sends people back to NELM_PUBLIC_URL/console/api/oidc/callback');
  }
  if (problems.length > before) return undefined;
  return {
    issuer,
    clientId: clientId!,
    clientSecret: clientSecret!,
    claim: claim as OidcClaim,
    scopes,
    redirectUri: `${publicUrl!.replace(/\/+$/, '')}/console/api/oidc/callback`,
    loopbackHttp,
  };
}
