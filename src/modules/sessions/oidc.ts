/**
 * Single sign-on: OpenID Connect's authorization code flow with PKCE (S256), state and nonce,
 * through the certified client library `openid-client`. A sign-in begins with a redirect to the
 * provider; what the callback must match (state, nonce, PKCE verifier) travels in a short-lived
 * cookie sealed under the key-encryption key (AES-GCM: neither readable nor forgeable by the
 * browser), so that any server process can finish it. The provider's answer is checked by the
 * library (state, the code exchange with the verifier, the ID token's signature, issuer, audience,
 * nonce and times); the configured claim (the email, or the username as the alias) then names the
 * identity, and a session begins exactly as
 * a password sign-in's does. The provider's metadata is discovered at first use; a provider that
 * is down delays nothing but single sign-on, which says so until discovery succeeds. No HTTP
 * routing here, and no token, code or claim value in a log.
 */
import * as client from 'openid-client';
import type { KeyRing } from '../../auth/key-encryption.js';
import type { OidcSettings } from '../../config/sign-in.js';
import type { Identity } from '../directory/model.js';
import type { DirectoryService } from '../directory/service.js';
import type { SessionService, SignedIn } from './service.js';

/** How long a sign-in begun at the provider may take to come back. */
export const LOGIN_SECONDS = 600;
const SEAL_CONTEXT = 'nelm console oidc login';
/** Seconds between two discovery attempts while the provider cannot be reached. */
const REDISCOVER_MS = 5000;

/** The provider's claim each setting of NELM_OIDC_CLAIM reads: the email, or the username as the alias. */
const CLAIMS = { email: 'email', alias: 'preferred_username' } as const;

/** Why a single sign-on did not sign anyone in: the `signInError` the console is sent back with. */
export type OidcRefusal = 'sso_unavailable' | 'state' | 'provider' | 'no_claim' | 'email_unverified' | 'unknown_user' | 'disabled';

export class OidcRefused extends Error {
  constructor(
    readonly reason: OidcRefusal,
    /** For the server's log: never a token, a code or a claim's value. */
    readonly detail: string,
  ) {
    super(`single sign-on refused: ${reason} (${detail})`);
    this.name = 'OidcRefused';
  }
}

interface LoginState {
  state: string;
  nonce: string;
  verifier: string;
  /** ms since the epoch. */
  expires: number;
}

export class OidcService {
  private discovered: client.Configuration | undefined;
  private discovering: Promise<client.Configuration> | undefined;
  private lastFailure = 0;

  constructor(
    readonly settings: OidcSettings,
    private readonly sessions: SessionService,
    private readonly directory: DirectoryService,
    private readonly keyRing: KeyRing,
    private readonly tenantId: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The provider's configuration, discovered once; OidcRefused('sso_unavailable') while it cannot be. */
  private async configuration(): Promise<client.Configuration> {
    if (this.discovered) return this.discovered;
    if (!this.discovering) {
      if (this.now() - this.lastFailure < REDISCOVER_MS) throw new OidcRefused('sso_unavailable', 'the identity provider could not be reached a moment ago');
      const { issuer, clientId, clientSecret, loopbackHttp } = this.settings;
      this.discovering = client
        .discovery(new URL(issuer), clientId, { redirect_uris: [this.settings.redirectUri] }, client.ClientSecretBasic(clientSecret), {
          timeout: 10,
          ...(loopbackHttp ? { execute: [client.allowInsecureRequests] } : {}),
        })
        .finally(() => {
          this.discovering = undefined;
        });
    }
    try {
      this.discovered = await this.discovering;
      return this.discovered;
    } catch (error) {
      this.lastFailure = this.now();
      throw new OidcRefused('sso_unavailable', `discovery at ${this.settings.issuer} failed: ${(error as Error).message}`);
    }
  }

  /** Begins a sign-in: the provider's authorization URL, and the sealed state for the browser's cookie. */
  async begin(): Promise<{ url: string; sealed: string }> {
    const configuration = await this.configuration();
    const login: LoginState = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      verifier: client.randomPKCECodeVerifier(),
      expires: this.now() + LOGIN_SECONDS * 1000,
    };
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: this.settings.redirectUri,
      scope: this.settings.scopes,
      response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(login.verifier),
      code_challenge_method: 'S256',
      state: login.state,
      nonce: login.nonce,
    });
    return { url: url.href, sealed: this.keyRing.seal(JSON.stringify(login), SEAL_CONTEXT) };
  }

  private opened(sealed: string | undefined): LoginState {
    if (!sealed) throw new OidcRefused('state', 'no sign-in was begun in this browser (no state cookie)');
    let login: LoginState;
    try {
      login = JSON.parse(this.keyRing.open(sealed, SEAL_CONTEXT)) as LoginState;
    } catch {
      throw new OidcRefused('state', 'the state cookie does not open');
    }
    if (!(login.expires > this.now())) throw new OidcRefused('state', `the sign-in took longer than ${LOGIN_SECONDS} s`);
    return login;
  }

  /**
   * Finishes a sign-in at the callback: `query` is the callback's query string as the provider
   * sent it, `sealed` the cookie `begin` set. The session begun, or OidcRefused (an
   * `auth.sign_in_refused` for a person the provider vouched for but who cannot sign in).
   */
  async finish(query: string, sealed: string | undefined, address: string): Promise<SignedIn> {
    const configuration = await this.configuration();
    const login = this.opened(sealed);
    const callback = new URL(`${this.settings.redirectUri}${query}`);
    let claims: Record<string, unknown>;
    try {
      const tokens = await client.authorizationCodeGrant(configuration, callback, {
        pkceCodeVerifier: login.verifier,
        expectedState: login.state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
      claims = { ...tokens.claims() };
      if (claims[CLAIMS[this.settings.claim]] === undefined && tokens.access_token) {
        claims = { ...(await client.fetchUserInfo(configuration, tokens.access_token, String(claims.sub))), ...claims };
      }
    } catch (error) {
      throw new OidcRefused(/"state"/.test(describe(error)) ? 'state' : 'provider', describe(error));
    }
    const identity = await this.identityOf(claims, address);
    return this.sessions.begin(this.tenantId, identity, address, 'oidc');
  }

  /** The identity the configured claim names; refusals are written to the audit trail. */
  private async identityOf(claims: Record<string, unknown>, address: string): Promise<Identity> {
    const { claim } = this.settings;
    const value = claims[CLAIMS[claim]];
    const subject = `${String(claims.sub ?? '').slice(0, 200)}@${this.settings.issuer}`;
    const refuse = async (reason: OidcRefusal, identity: Identity | undefined, detail: string): Promise<never> => {
      await this.sessions.refused(this.tenantId, subject, identity, address, reason, 'oidc');
      throw new OidcRefused(reason, detail);
    };
    if (typeof value !== 'string' || value.trim() === '') return refuse('no_claim', undefined, `the ID token and userinfo have no ${CLAIMS[claim]} claim`);
    // Some providers write the claim as a string ("false").
    const unverified = claims.email_verified === false || claims.email_verified === 'false';
    if (claim === 'email' && unverified) return refuse('email_unverified', undefined, 'the provider says the email is not verified');
    const identity =
      claim === 'email' ? await this.directory.identityByEmail(this.tenantId, value) : await this.directory.identityByAlias(this.tenantId, value);
    if (!identity) return refuse('unknown_user', undefined, `no identity (or several) has that ${claim}`);
    return identity.disabled ? refuse('disabled', identity, 'the identity is disabled') : identity;
  }
}

/** What the library said, for the server's log: its class and code, never a token. */
function describe(error: unknown): string {
  if (error instanceof client.AuthorizationResponseError) return `the provider answered ${error.error}`;
  if (error instanceof client.ResponseBodyError) return `the provider's token endpoint answered ${error.error}`;
  const { name, code, message, cause } = error as { name?: string; code?: string; message?: string; cause?: { message?: unknown } };
  const why = typeof cause?.message === 'string' ? ` (${cause.message.slice(0, 200)})` : '';
  return `${name ?? 'Error'}${code ? ` ${code}` : ''}: ${String(message).slice(0, 200)}${why}`;
}
