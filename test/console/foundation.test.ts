/** The console as served: the page, its headers, its size, `/` leading to it, sign-in and sign-out in Chromium. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { base32Decode, totp } from '../../src/auth/totp.js';
import { CONSOLE_CSP, CONSOLE_DIR } from '../../src/modules/console/routes.js';
import { checkAccessible, type ConsoleRig, createPerson, PASSWORD, screenshot, signIn, startConsole } from '../helpers/console.js';

describe('console: serving and sign-in', () => {
  let rig: ConsoleRig;
  before(async () => {
    rig = await startConsole();
  });
  after(() => rig?.close());

  test('/ leads to /console/; the page and every client route answer index.html, not cached, with the CSP', async () => {
    const root = await fetch(`${rig.server.baseUrl}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/console/');
    for (const url of ['/console', '/console/', '/console/records', '/console/records/abc', '/console/requests/new?x=1']) {
      const response = await fetch(`${rig.server.baseUrl}${url}`);
      assert.equal(response.status, 200, url);
      assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(response.headers.get('cache-control'), 'no-cache');
      assert.equal(response.headers.get('content-security-policy'), CONSOLE_CSP);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(response.headers.get('referrer-policy'), 'same-origin');
      const html = await response.text();
      assert.match(html, /<script type="module" src="\/console\/assets\/main-[A-Z0-9]+\.js"><\/script>/);
      assert.doesNotMatch(html, /<style|style=|<script>/);
    }
  });

  test('hashed assets: their types, cached for a year; unknown files, traversal and unknown API paths are 404', async () => {
    const names = readdirSync(path.join(CONSOLE_DIR, 'assets'));
    for (const name of names) {
      const response = await fetch(`${rig.server.baseUrl}/console/assets/${name}`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(response.headers.get('content-type'), name.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      assert.equal(response.headers.get('content-security-policy'), CONSOLE_CSP);
    }
    for (const url of [
      '/console/assets/nothing.js',
      '/console/assets/..%2F..%2Fpackage.json',
      '/console/assets/%2e%2e%2f%2e%2e%2fpackage.json',
      '/console/api/nothing',
    ]) {
      const response = await fetch(`${rig.server.baseUrl}${url}`);
      assert.equal(response.status, 404, url);
      assert.equal(((await response.json()) as { detailCode: string }).detailCode, '404 Not found');
    }
    // Sent as written (fetch would resolve the dots first).
    const { port } = new URL(rig.server.baseUrl);
    for (const raw of ['/console/assets/../../../package.json', '/console/assets/..%2f..%2f..%2fpackage.json']) {
      const status = await new Promise<number>((resolve, reject) => {
        get({ host: '127.0.0.1', port, path: raw }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        }).on('error', reject);
      });
      assert.equal(status, 404, raw);
    }
  });

  test("the first page's JavaScript and CSS are at most 200 KB compressed", () => {
    const html = readFileSync(path.join(CONSOLE_DIR, 'index.html'), 'utf8');
    const files = [...html.matchAll(/\/console\/(assets\/[^"]+)/g)].map((m) => m[1]!);
    assert.equal(files.length, 2);
    const bytes = files.reduce((sum, file) => sum + gzipSync(readFileSync(path.join(CONSOLE_DIR, file))).length, 0);
    console.log(`console first page: ${files.join(', ')}: ${(bytes / 1024).toFixed(1)} KB gzip-compressed`);
    assert.ok(bytes <= 200 * 1024, `${bytes} bytes`);
  });

  test('sign in: a wrong password is shown; the right one signs in; sign out comes back to sign-in', async () => {
    const person = await createPerson(rig.server, 'sam.signin', 'Sam Signin', { rights: ['idn:nesr:read'] });
    const { page } = await rig.newPage();
    await page.goto('/');
    await page.getByRole('heading', { name: 'Sign in to NELM' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Sign in with single sign-on' }).count(), 0);
    await checkAccessible(page, 'sign-in page');
    await screenshot(page, 'sign-in');
    await page.getByLabel('Username').fill(person.alias);
    await page.getByLabel('Password', { exact: true }).fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password' }).waitFor();
    await checkAccessible(page, 'sign-in page with an error');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.waitFor();
    assert.deepEqual(await nav.getByRole('link').allTextContents(), ['Records']);
    assert.equal(new URL(page.url()).pathname, '/console/records');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to NELM' }).waitFor();
    const session = await page.evaluate(async () => (await fetch('/console/api/session')).status);
    assert.equal(session, 401);
  });

  test('a single sign-on error in the URL is shown in words', async () => {
    const { page } = await rig.newPage();
    await page.goto('/console/?signInError=unknown_user');
    await page.getByRole('alert').filter({ hasText: 'no identity of NELM matches your account' }).waitFor();
    assert.equal(new URL(page.url()).search, '');
  });

  test('the session ending (a 401) brings the sign-in page back', async () => {
    await createPerson(rig.server, 'olga.ended', 'Olga Ended', { rights: ['idn:nesr:read'] });
    const { page, context } = await rig.newPage();
    await signIn(page, 'olga.ended');
    // The records page first, loaded with the session: then the session ends under it.
    const range = page.getByLabel('End date');
    await range.waitFor();
    await page.locator('.table-wrap[data-ready]').waitFor();
    await context.clearCookies();
    await range.selectOption('expired');
    await page.getByRole('heading', { name: 'Sign in to NELM' }).waitFor();
  });
});

describe('console: sign-in throttle', () => {
  let rig: ConsoleRig;
  before(async () => {
    rig = await startConsole({}, { NELM_AUTH_THROTTLE: '2/30' });
  });
  after(() => rig?.close());

  test('a locked account is told how long to wait', async () => {
    await createPerson(rig.server, 'tim.throttle', 'Tim Throttle');
    const { page } = await rig.newPage();
    await page.goto('/console/');
    await page.getByLabel('Username').fill('tim.throttle');
    for (let i = 0; i < 8; i++) {
      await page.getByLabel('Password', { exact: true }).fill(`wrong-password-${i}`);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      if (/Try again in \d+ seconds?/.test((await alert.textContent()) ?? '')) return;
      await page.getByRole('button', { name: 'Sign in', exact: true }).isEnabled();
    }
    assert.fail('no wait was shown after 8 wrong passwords');
  });
});

describe('console: one-time codes', () => {
  let rig: ConsoleRig;
  before(async () => {
    rig = await startConsole({}, { NELM_CONSOLE_REQUIRE_TOTP: 'true' });
  });
  after(() => rig?.close());

  test('an org admin who must have a one-time code sets it up, then signs in with it', async () => {
    await createPerson(rig.server, 'ada.admin', 'Ada Admin', { admin: true });
    const { page } = await rig.newPage();
    await page.goto('/console/');
    await page.getByLabel('Username').fill('ada.admin');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Set up a one-time code' }).waitFor();
    const secret = (await page.locator('dd code').first().textContent()) ?? '';
    const uri = (await page.locator('dd code').nth(1).textContent()) ?? '';
    assert.match(uri, /^otpauth:\/\/totp\//);
    assert.ok(uri.includes(`secret=${secret}`));
    await checkAccessible(page, 'one-time code set-up');
    const key = base32Decode(secret)!;
    await page.getByLabel('One-time code').fill('000000' === totp(key, Date.now()) ? '111111' : '000000');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.locator('.field-error').waitFor();
    await page.getByLabel('One-time code').fill(totp(key, Date.now()));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();

    // The next sign-in asks for the code after the password (the next period's: a code is used once).
    await page.getByLabel('Username').fill('ada.admin');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'Enter the one-time code from your authenticator app.' }).waitFor();
    await checkAccessible(page, 'sign-in asking for a one-time code');
    await page.getByLabel('One-time code').fill(totp(key, Date.now() + 30_000));
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  });
});
