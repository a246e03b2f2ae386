/**
 * Single sign-on from the sign-in page, in Chromium, against a real OpenID provider (the npm
 * `oidc-provider`, its development login and consent pages) started on 127.0.0.1: the button
 * leads there, the person comes back signed in; a person NELM does not know comes back to the
 * sign-in page with the reason in words.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import Provider from 'oidc-provider';
import { type Browser, chromium, type Page } from 'playwright-core';
import { buildApp } from '../../src/app.js';
import type { Config } from '../../src/config/config.js';
import { dropSchema, testConfig } from '../helpers/app.js';
import { buildConsole, CHROMIUM, checkAccessible } from '../helpers/console.js';

const CLIENT = { id: 'nelm-console', secret: 'console-client-secret-0123456789' };
const ACCOUNTS: Record<string, { email: string; email_verified: boolean }> = {
  ops: { email: 'ops@example.com', email_verified: true },
  stranger: { email: 'stranger@example.com', email_verified: true },
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('console: single sign-on', () => {
  let idp: Server;
  let nelm: FastifyInstance;
  let config: Config;
  let baseUrl: string;
  let browser: Browser;

  before(async () => {
    buildConsole();
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    let handler: Parameters<typeof createServer>[1] = (_req, res) => res.end();
    idp = createServer((req, res) => handler!(req, res));
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
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
      ],
      findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, ...ACCOUNTS[sub] }) }),
      claims: { openid: ['sub'], email: ['email', 'email_verified'] },
      features: { devInteractions: { enabled: true } },
      pkce: { required: () => true },
      cookies: { keys: ['a-cookie-key-of-the-test-provider'] },
    });
    handler = provider.callback();
    config = testConfig({}, { NELM_PUBLIC_URL: baseUrl, NELM_OIDC_ISSUER: issuer, NELM_OIDC_CLIENT_ID: CLIENT.id, NELM_OIDC_CLIENT_SECRET: CLIENT.secret });
    nelm = await buildApp(config, { logger: false });
    await nelm.listen({ port, host: '127.0.0.1' });
    await nelm.services.directory.createIdentity(config.tenant, {
      alias: 'ops',
      name: 'Ops Person',
      email: 'ops@example.com',
      admin: false,
      rights: ['idn:nesr:read'],
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  after(async () => {
    await browser?.close();
    await nelm?.close();
    await dropSchema(config);
    idp?.closeAllConnections();
    await new Promise((resolve) => idp?.close(resolve));
  });

  /** From the sign-in page through the provider's login and consent, as `account`. */
  async function signInWithSso(page: Page, account: string): Promise<void> {
    await page.goto(`${baseUrl}/console/`);
    await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
    await page.locator('input[name="login"]').fill(account);
    await page.locator('input[name="password"]').fill('any');
    await page.locator('button[type="submit"]').click();
    // The consent page, when the provider shows one.
    await page.waitForURL((url) => url.href.startsWith(baseUrl) || /\/interaction\//.test(url.pathname));
    if (!page.url().startsWith(baseUrl)) {
      await page.locator('button[type="submit"]').click();
      await page.waitForURL((url) => url.href.startsWith(baseUrl));
    }
  }

  test('the button leads to the provider, and back signed in', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${baseUrl}/console/`);
    const button = page.getByRole('link', { name: 'Sign in with single sign-on' });
    assert.equal(await button.getAttribute('href'), '/console/api/oidc/login');
    await checkAccessible(page, 'sign-in with single sign-on');
    await signInWithSso(page, 'ops');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    assert.equal(await page.locator('.who span').textContent(), 'Ops Person');
    await context.close();
  });

  test('someone NELM does not know comes back to sign-in, told why', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInWithSso(page, 'stranger');
    await page.getByRole('alert').filter({ hasText: 'no identity of NELM matches your account' }).waitFor();
    await page.getByRole('heading', { name: 'Sign in to NELM' }).waitFor();
    await context.close();
  });
});
