/**
 * The configuration of the console's sign-in: NELM_CONSOLE_REQUIRE_TOTP and single sign-on's
 * NELM_OIDC_* variables, each mistake named at start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/config.js';

const BASE = { DATABASE_URL: ':memory:' };
const SSO = {
  ...BASE,
  NELM_PUBLIC_URL: 'https://nelm.example.com/',
  NELM_OIDC_ISSUER: 'https://login.example.com/realms/staff',
  NELM_OIDC_CLIENT_ID: 'nelm',
  NELM_OIDC_CLIENT_SECRET: 'a-client-secret-value',
};

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

test('without NELM_OIDC_ISSUER there is no single sign-on; NELM_CONSOLE_REQUIRE_TOTP is off by default', () => {
  const config = loadConfig(BASE);
  assert.equal(config.oidc, undefined);
  assert.equal(config.sessions.requireTotp, false);
  assert.equal(loadConfig({ ...BASE, NELM_CONSOLE_REQUIRE_TOTP: 'TRUE' }).sessions.requireTotp, true);
  assert.deepEqual(problems({ ...BASE, NELM_CONSOLE_REQUIRE_TOTP: 'yes' }), ["NELM_CONSOLE_REQUIRE_TOTP must be 'true' or 'false', got 'yes'"]);
});

test('a complete single sign-on configuration: defaults, and the redirect URI below NELM_PUBLIC_URL', () => {
  assert.deepEqual(loadConfig(SSO).oidc, {
    issuer: 'https://login.example.com/realms/staff',
    clientId: 'nelm',
    clientSecret: 'a-client-secret-value',
    claim: 'email',
    scopes: 'openid email profile',
    redirectUri: 'https://nelm.example.com/console/api/oidc/callback',
    loopbackHttp: false,
  });
  const alias = loadConfig({ ...SSO, NELM_OIDC_CLAIM: 'Alias', NELM_OIDC_SCOPES: ' openid  profile ' }).oidc!;
  assert.equal(alias.claim, 'alias');
  assert.equal(alias.scopes, 'openid profile');
});

test('each mistake is named, and the client secret never echoed', () => {
  const cases: [NodeJS.ProcessEnv, RegExp][] = [
    [{ ...SSO, NELM_OIDC_CLIENT_ID: '' }, /NELM_OIDC_CLIENT_ID must be set/],
    [{ ...SSO, NELM_OIDC_CLIENT_SECRET: '' }, /NELM_OIDC_CLIENT_SECRET must be set/],
    [{ ...SSO, NELM_PUBLIC_URL: '' }, /NELM_PUBLIC_URL must be set with NELM_OIDC_ISSUER/],
    [{ ...SSO, NELM_OIDC_ISSUER: 'login.example.com' }, /NELM_OIDC_ISSUER must be a URL/],
    [{ ...SSO, NELM_OIDC_ISSUER: 'http://login.example.com' }, /must be an https:\/\/ URL \(http:\/\/ only on localhost/],
    [{ ...SSO, NELM_OIDC_CLAIM: 'sub' }, /NELM_OIDC_CLAIM must be 'email' or 'alias'/],
    [{ ...SSO, NELM_OIDC_SCOPES: 'email profile' }, /NELM_OIDC_SCOPES must include openid/],
    [{ ...BASE, NELM_OIDC_CLIENT_ID: 'nelm' }, /NELM_OIDC_CLIENT_ID set without NELM_OIDC_ISSUER/],
  ];
  for (const [env, expected] of cases) {
    const found = problems(env);
    assert.ok(
      found.some((p) => expected.test(p)),
      `${expected}: ${found.join(' | ')}`,
    );
    assert.ok(!found.join(' ').includes('a-client-secret-value'));
  }
});

test('plain HTTP only to a provider on this machine', () => {
  for (const issuer of ['http://localhost:9000', 'http://127.0.0.1:9000/oidc', 'http://[::1]:9000']) {
    assert.equal(loadConfig({ ...SSO, NELM_OIDC_ISSUER: issuer }).oidc?.loopbackHttp, true, issuer);
  }
  assert.equal(loadConfig(SSO).oidc?.loopbackHttp, false);
});
