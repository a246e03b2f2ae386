/**
 * The console's browser tests: the built console (scripts/build-console.mjs) served by a real
 * listening server, driven in Debian's Chromium through playwright-core, one browser per test
 * file. People sign in with passwords set through the admin API; every page is checked with axe
 * (WCAG 2.0/2.1 A and AA). With NELM_SCREENSHOTS=1 a test saves its page to
 * docs/images/console/<name>.png.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { Right } from '../../src/auth/principal.js';
import type { Config } from '../../src/config/config.js';
import { adminToken, startTestServer, type TestServer } from './server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHROMIUM = process.env.NELM_CHROMIUM ?? '/usr/bin/chromium';
/** Every person's password in these tests: long, not a common one. */
export const PASSWORD = 'Heron-Quartz-Lantern-1987';

let built = process.env.NELM_TEST_BUILT === '1';
/** Builds the console once per process (esbuild: well under a second), unless `npm test` has built it. */
export function buildConsole(): void {
  if (built) return;
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-console.mjs')], { stdio: 'ignore' });
  built = true;
}

export interface ConsoleRig {
  server: TestServer;
  browser: Browser;
  /** A fresh browser context (its own cookies) and page, at `width` × 800. */
  newPage(width?: number): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

export async function startConsole(overrides: Partial<Config> = {}, env: NodeJS.ProcessEnv = {}): Promise<ConsoleRig> {
  buildConsole();
  const server = await startTestServer(overrides, env);
  let browser: Browser;
  try {
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
  } catch (error) {
    await server.close();
    throw error;
  }
  const contexts: BrowserContext[] = [];
  return {
    server,
    browser,
    async newPage(width = 1280) {
      const context = await browser.newContext({ viewport: { width, height: 800 }, baseURL: server.baseUrl });
      contexts.push(context);
      const page = await context.newPage();
      // Generous: a page waits for the server, which shares the machine with the other test files.
      page.setDefaultTimeout(30_000);
      return { context, page };
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await server.close();
    },
  };
}

/** A call to the API as the org admin (the test's setup), answering JSON; throws on a status other than `expect`. */
export async function asAdmin<T>(server: TestServer, method: string, url: string, body?: unknown, expect = 200): Promise<T> {
  const response = await fetch(`${server.baseUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${await adminToken(server)}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (response.status !== expect) throw new Error(`${method} ${url} → ${response.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface Person {
  id: string;
  alias: string;
  name: string;
}

/** An identity with a password (and rights), made through the admin API. */
export async function createPerson(server: TestServer, alias: string, name: string, options: { rights?: Right[]; admin?: boolean } = {}): Promise<Person> {
  const identity = await asAdmin<{ id: string }>(server, 'POST', '/admin/v1/identities', {
    alias,
    name,
    email: `${alias}@example.com`,
    admin: options.admin ?? false,
    rights: options.rights ?? [],
  });
  await asAdmin(server, 'PUT', `/admin/v1/identities/${identity.id}/password`, { password: PASSWORD }, 204);
  return { id: identity.id, alias, name };
}

/** Signs in on the sign-in page with the labelled fields, and waits for the signed-in page. */
export async function signIn(page: Page, alias: string, password = PASSWORD): Promise<void> {
  await page.goto('/console/');
  await page.getByLabel('Username').fill(alias);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** No violation of WCAG 2.0 and 2.1, levels A and AA, on the page as it is. */
export async function checkAccessible(page: Page, what: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const problems = results.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(problems, [], `${what}: accessibility violations`);
}

/** With NELM_SCREENSHOTS=1: the page as a PNG in docs/images/console/. */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.NELM_SCREENSHOTS !== '1') return;
  const dir = path.join(ROOT, 'docs', 'images', 'console');
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

/** A source made by the org admin; its id. */
export async function createSource(
  server: TestServer,
  name: string,
  ownerId: string,
  approvers: string[] = [],
  accountManagers: string[] = [],
): Promise<string> {
  const source = await asAdmin<{ id: string }>(server, 'POST', '/v3/non-employee-sources', {
    name,
    description: `${name} contractors`,
    owner: { id: ownerId },
    approvers: approvers.map((id) => ({ id })),
    accountManagers: accountManagers.map((id) => ({ id })),
  });
  return source.id;
}
