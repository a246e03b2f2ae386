/**
 * Single sign-on end to end, against a real OpenID provider (the npm `oidc-provider`) started by
 * the test on 127.0.0.1, with a confidential client (client_secret_basic) and PKCE required. A
 * browser is played by fetch with manual redirects and a small cookie jar: NELM's login redirect,
 * the provider's login and consent pages (its development interactions), the callback. Asserts the
 * session it makes works like a password's, and the refusals: an unknown email, an unverified one,
 * a tampered state, a replayed callback, a provider that is down, and no single sign-on at all.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import Provider from 'oidc-provider';
import { buildApp } from '../../src/app.js';
import type { Config } from '../../src/config/config.js';
import { logSerializers } from '../../src/http/logging.js';
import { dropSchema, harness, testConfig } from '../helpers/app.js';

const CLIENT = { id: 'nelm-console', secret: 'console-client-secret-0123456789' };
/** A second NELM, whose NELM_OIDC_CLAIM is `alias`. */
const ALIAS_CLIENT = { id: 'nelm-by-alias', secret: 'alias-client-secret-0123456789' };
/** The provider's accounts (the login typed on its page), and their claims. */
const ACCOUNTS: Record<string, { email: string; email_verified: boolean | string; preferred_username?: string }> = {
  ops: { email: 'OPS@example.com', email_verified: true, preferred_username: 'Ops.Lead' },
  boss: { email: 'boss@example.com', email_verified: true },
  stranger: { email: 'stranger@example.com', email_verified: true },
  unverified: { email: 'unverified@example.com', email_verified: false },
  // A provider that writes the claim as a string (Cognito's userinfo does).
  quoted: { email: 'quoted@example.com', email_verified: 'false' },
  left: { email: 'left@example.com', email_verified: true },
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A browser's cookies, per host (paths ignored: the flow is sequential). */
class Jar {
  private readonly cookies = new Map<string, Map<string, string>>();
  take(url: string, response: Response): void {
    const host = new URL(url).host;
    const jar = this.cookies.get(host) ?? new Map<string, string>();
    this.cookies.set(host, jar);
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const at = pair.indexOf('=');
      const [name, value] = [pair.slice(0, at), pair.slice(at + 1)];
      const expired = attributes.some((a) => /^max-age=0$/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) < Date.now()));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  }
  header(url: string): string {
    return [...(this.cookies.get(new URL(url).host) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  get(url: string, name: string): string | undefined {
    return this.cookies.get(new URL(url).host)?.get(name);
  }
}

interface Browser {
  jar: Jar;
  go(url: string, init?: { method?: string; form?: Record<string, string> }): Promise<Response>;
}

function browser(): Browser {
  const jar = new Jar();
  return {
    jar,
    async go(url, init = {}) {
      const headers: Record<string, string> = { cookie: jar.header(url) };
      let body: string | undefined;
      if (init.form) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        body = new URLSearchParams(init.form).toString();
      }
      const response = await fetch(url, { method: init.method ?? 'GET', headers, body, redirect: 'manual' });
      jar.take(url, response);
      return response;
    },
  };
}

describe('single sign-on against a real OpenID provider', () => {
  let idp: Server;
  let issuer: string;
  let nelm: FastifyInstance;
  let config: Config;
  let baseUrl: string;
  let byAlias: FastifyInstance;
  let byAliasConfig: Config;
  let byAliasUrl: string;
  const logs: string[] = [];

  before(async () => {
    const nelmPort = await freePort();
    baseUrl = `http://127.0.0.1:${nelmPort}`;
    const aliasPort = await freePort();
    byAliasUrl = `http://127.0.0.1:${aliasPort}`;
    let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
    idp = createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: CLIENT.id,
          client_secret: CLIENT.secret,
          redirect_uris: [`${baseUrl}/console/api/oidc/callback`],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
        },
        {
          client_id: ALIAS_CLIENT.id,
          client_secret: ALIAS_CLIENT.secret,
          redirect_uris: [`${byAliasUrl}/console/api/oidc/callback`],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
        },
      ],
      findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, ...ACCOUNTS[sub] }) }),
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['preferred_username'] },
      features: { devInteractions: { enabled: true } },
      pkce: { required: () => true },
      cookies: { keys: ['a-cookie-key-of-the-test-provider'] },
    });
    handler = provider.callback();

    config = testConfig(
      {},
      {
        NELM_PUBLIC_URL: baseUrl,
        NELM_OIDC_ISSUER: issuer,
        NELM_OIDC_CLIENT_ID: CLIENT.id,
        NELM_OIDC_CLIENT_SECRET: CLIENT.secret,
        NELM_CONSOLE_REQUIRE_TOTP: 'true',
        NELM_LOG_LEVEL: 'info',
      },
    );
    const stream = new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    });
    nelm = await buildApp(config, { logger: { level: 'info', stream, serializers: logSerializers } });
    await nelm.listen({ port: nelmPort, host: '127.0.0.1' });
    const { directory } = nelm.services;
    await directory.createIdentity(config.tenant, { alias: 'ops', name: 'Ops', email: 'ops@example.com', admin: false, rights: ['idn:nesr:read'] });
    await directory.createIdentity(config.tenant, { alias: 'boss', name: 'Boss', email: 'boss@example.com', admin: true, rights: [] });
    await directory.createIdentity(config.tenant, { alias: 'unverified', name: 'U', email: 'unverified@example.com', admin: false, rights: [] });
    await directory.createIdentity(config.tenant, { alias: 'quoted', name: 'Q', email: 'quoted@example.com', admin: false, rights: [] });
    const left = await directory.createIdentity(config.tenant, { alias: 'left', name: 'L', email: 'left@example.com', admin: false, rights: [] });
    await directory.updateIdentity(config.tenant, left.id, { disabled: true }, null);

    byAliasConfig = testConfig(
      {},
      {
        NELM_PUBLIC_URL: byAliasUrl,
        NELM_OIDC_ISSUER: issuer,
        NELM_OIDC_CLIENT_ID: ALIAS_CLIENT.id,
        NELM_OIDC_CLIENT_SECRET: ALIAS_CLIENT.secret,
        NELM_OIDC_CLAIM: 'alias',
      },
    );
    byAlias = await buildApp(byAliasConfig, { logger: false });
    await byAlias.listen({ port: aliasPort, host: '127.0.0.1' });
    await byAlias.services.directory.createIdentity(byAliasConfig.tenant, { alias: 'ops.lead', name: 'Ops', email: null, admin: false, rights: [] });
  });
  after(async () => {
    await nelm?.close();
    await dropSchema(config);
    await byAlias?.close();
    await dropSchema(byAliasConfig);
    idp?.closeAllConnections();
    await new Promise((resolve) => idp?.close(resolve));
  });

  /**
   * Plays the browser from NELM's login to the provider's redirect back (signing in there as
   * `account` and consenting): the callback URL, not yet followed.
   */
  async function toCallback(b: Browser, account: string, nelmUrl = baseUrl): Promise<string> {
    const login = await b.go(`${nelmUrl}/console/api/oidc/login`);
    assert.equal(login.status, 302, await login.text());
    let url = new URL(login.headers.get('location')!).href;
    assert.ok(url.startsWith(`${issuer}/`), url);
    const authorize = new URL(url).searchParams;
    assert.equal(authorize.get('code_challenge_method'), 'S256');
    assert.ok(authorize.get('state') && authorize.get('nonce') && authorize.get('code_challenge'));
    assert.match(b.jar.get(nelmUrl, 'nelm_oidc') ?? '', /^enc:v1:/, 'the state travels sealed');
    for (let hops = 0; hops < 12; hops++) {
      if (url.startsWith(`${nelmUrl}/`)) return url;
      const response = await b.go(url);
      if (response.status === 200 && /\/interaction\//.test(url)) {
        const page = await response.text();
        const form: Record<string, string> = /name="prompt" value="login"/.test(page)
          ? { prompt: 'login', login: account, password: 'any' }
          : { prompt: 'consent' };
        const submitted = await b.go(url, { method: 'POST', form });
        url = new URL(submitted.headers.get('location')!, url).href;
        continue;
      }
      assert.ok([302, 303].includes(response.status), `${url}: ${response.status} ${await response.text()}`);
      url = new URL(response.headers.get('location')!, url).href;
    }
    throw new Error('the provider never sent the browser back');
  }

  /** Follows the callback: where NELM sends the browser. */
  async function finish(b: Browser, callback: string): Promise<{ location: string; session: string | undefined }> {
    const response = await b.go(callback);
    assert.equal(response.status, 303, await response.text());
    return { location: response.headers.get('location')!, session: b.jar.get(callback, 'nelm_session') };
  }

  const events = (type: string) => nelm.db.kysely.selectFrom('events').select('data').where('type', '=', type).execute();

  test('sign-in-options says sso; a person the provider names by email gets a working session', async () => {
    const options = await fetch(`${baseUrl}/console/api/sign-in-options`);
    assert.deepEqual(await options.json(), { sso: true });
    const b = browser();
    const callback = await toCallback(b, 'ops');
    const { location, session } = await finish(b, callback);
    assert.equal(location, '/console/');
    assert.ok(session, 'the session cookie is set');
    assert.equal(b.jar.get(baseUrl, 'nelm_oidc'), undefined, 'the state cookie is cleared');
    const view = await b.go(`${baseUrl}/console/api/session`);
    assert.equal(view.status, 200);
    const body = (await view.json()) as { identity: { alias: string }; totpEnrolmentRequired: boolean };
    assert.equal(body.identity.alias, 'ops', 'the email matched caselessly');
    const read = await b.go(`${baseUrl}/v2024/non-employee-sources`);
    assert.equal(read.status, 200, 'an API read with the cookie');

    const code = new URL(callback).searchParams.get('code')!;
    assert.ok(code.length > 10);
    assert.ok(!logs.join('').includes(code), 'the authorization code is in no log line');
    assert.ok(!logs.join('').includes(CLIENT.secret), 'nor the client secret');
  });

  test('an org admin who signs in by single sign-on needs no one-time password', async () => {
    const b = browser();
    const { location } = await finish(b, await toCallback(b, 'boss'));
    assert.equal(location, '/console/');
    const view = (await (await b.go(`${baseUrl}/console/api/session`)).json()) as { totpEnrolmentRequired: boolean };
    assert.equal(view.totpEnrolmentRequired, false);
    assert.equal((await b.go(`${baseUrl}/admin/v1/identities`)).status, 200);
  });

  test("NELM_OIDC_CLAIM=alias: the provider's username names the identity by its alias, in any case", async () => {
    const b = browser();
    const { location, session } = await finish(b, await toCallback(b, 'ops', byAliasUrl));
    assert.equal(location, '/console/');
    assert.ok(session);
    const view = (await (await b.go(`${byAliasUrl}/console/api/session`)).json()) as { identity: { alias: string } };
    assert.equal(view.identity.alias, 'ops.lead');
    const none = browser();
    assert.equal((await finish(none, await toCallback(none, 'boss', byAliasUrl))).location, '/console/?signInError=no_claim', 'boss has no username');
  });

  test('an email no identity has, an unverified one (false or "false"), and a disabled identity are refused', async () => {
    for (const [account, reason] of [
      ['stranger', 'unknown_user'],
      ['unverified', 'email_unverified'],
      ['quoted', 'email_unverified'],
      ['left', 'disabled'],
    ]) {
      const b = browser();
      const { location, session } = await finish(b, await toCallback(b, account!));
      assert.equal(location, `/console/?signInError=${reason}`);
      assert.equal(session, undefined);
    }
  });

  test('a tampered state is refused', async () => {
    const b = browser();
    const callback = new URL(await toCallback(b, 'ops'));
    callback.searchParams.set('state', `${callback.searchParams.get('state')}x`);
    const { location, session } = await finish(b, callback.href);
    assert.equal(location, '/console/?signInError=state');
    assert.equal(session, undefined);
  });

  test("another browser's callback is refused: a sign-in is bound to the browser that began it", async () => {
    const victim = browser();
    const begun = await victim.go(`${baseUrl}/console/api/oidc/login`);
    assert.equal(begun.status, 302);
    const attacker = browser();
    const planted = await toCallback(attacker, 'stranger');
    const { location, session } = await finish(victim, planted);
    assert.equal(location, '/console/?signInError=state');
    assert.equal(session, undefined);
  });

  test('a replayed callback is refused, with or without the state cookie', async () => {
    const b = browser();
    const callback = await toCallback(b, 'ops');
    const sealed = b.jar.get(baseUrl, 'nelm_oidc')!;
    assert.equal((await finish(b, callback)).location, '/console/');
    // The same browser again: its state cookie was cleared.
    const again = await fetch(callback, { redirect: 'manual' });
    assert.equal(again.headers.get('location'), '/console/?signInError=state');
    // The state cookie kept and sent again: the provider takes a code once.
    const replay = await fetch(callback, { redirect: 'manual', headers: { cookie: `nelm_oidc=${sealed}` } });
    assert.equal(replay.status, 303);
    assert.equal(replay.headers.get('location'), '/console/?signInError=provider');
    assert.equal(replay.headers.getSetCookie().filter((c) => c.startsWith('nelm_session=')).length, 0);
  });

  test('every single sign-on and refusal is in the audit trail, with method oidc', async () => {
    const signedIn = await events('auth.signed_in');
    assert.ok(signedIn.some((e) => /"method":"oidc"/.test(e.data) && /"alias":"ops"/.test(e.data)));
    const refused = await events('auth.sign_in_refused');
    assert.ok(refused.some((e) => /"reason":"unknown_user"/.test(e.data) && /"method":"oidc"/.test(e.data)));
  });
});

describe('single sign-on not configured, or its provider down', () => {
  test('sign-in-options says sso false; login and callback are 404', async () => {
    const h = await harness();
    try {
      const options = await h.request('GET', '/console/api/sign-in-options', undefined);
      assert.deepEqual(options.json(), { sso: false });
      assert.equal((await h.request('GET', '/console/api/oidc/login', undefined)).statusCode, 404);
      assert.equal((await h.request('GET', '/console/api/oidc/callback?code=x&state=y', undefined)).statusCode, 404);
    } finally {
      await h.close();
    }
  });

  test('a provider that cannot be reached stops nothing: login sends the browser back saying so', async () => {
    const port = await freePort();
    const h = await harness(
      {},
      { NELM_PUBLIC_URL: 'http://127.0.0.1:8080', NELM_OIDC_ISSUER: `http://127.0.0.1:${port}`, NELM_OIDC_CLIENT_ID: 'c', NELM_OIDC_CLIENT_SECRET: 's' },
    );
    try {
      assert.deepEqual((await h.request('GET', '/console/api/sign-in-options', undefined)).json(), { sso: true });
      const login = await h.request('GET', '/console/api/oidc/login', undefined);
      assert.equal(login.statusCode, 303);
      assert.equal(login.headers.location, '/console/?signInError=sso_unavailable');
      const callback = await h.request('GET', '/console/api/oidc/callback?code=x&state=y', undefined);
      assert.equal(callback.headers.location, '/console/?signInError=sso_unavailable');
      assert.equal((await h.request('GET', '/health', undefined)).statusCode, 200);
    } finally {
      await h.close();
    }
  });
});
