/**
 * People signing in with a password: passwords set through the admin API (weak ones refused,
 * naming `password`), sessions in a cookie (its attributes, idle and absolute timeouts, sign-out
 * and sign-out everywhere), the same API routes answering a session cookie as they answer a token,
 * CSRF tokens on state-changing requests, the sign-in throttle, and the audit trail.
 */
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { logSerializers } from '../../src/http/logging.js';
import { type Caller, dropSchema, errorOf, harness, type Harness, testConfig } from '../helpers/app.js';
import { sourceBody } from '../helpers/factories.js';

const SESSION = '/console/api/session';
const PASSWORD = 'violet-harbour-lantern-42';
/** Passwords hashed at the lowest cost: the tests set many. */
const FAST = { NELM_PASSWORD_HASH_COST: '10' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The session cookie's `name=value` and its attributes, from a sign-in's Set-Cookie. */
function cookieOf(response: LightMyRequestResponse): { pair: string; value: string; attributes: string[] } {
  const header = response.headers['set-cookie'];
  assert.equal(typeof header, 'string', `one Set-Cookie: ${String(header)}`);
  const [pair, ...attributes] = (header as string).split(';').map((part) => part.trim());
  return { pair: pair!, value: pair!.slice(pair!.indexOf('=') + 1), attributes };
}

function helpers(h: Harness) {
  const setPassword = (identityId: string, password: string, token = h.admin.token) =>
    h.request('PUT', `/admin/v1/identities/${identityId}/password`, token, { password });
  const signIn = (username: string, password: string, remoteAddress?: string) =>
    h.app.inject({ method: 'POST', url: SESSION, payload: { username, password }, ...(remoteAddress ? { remoteAddress } : {}) });
  /** A request made with the session cookie (and a CSRF token when given). */
  const withCookie = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, cookie: string, body?: unknown, csrf?: string) =>
    h.request(method, url, undefined, body, { cookie, ...(csrf ? { 'x-csrf-token': csrf } : {}) });
  /** Signs in (200 asserted): the cookie pair and the CSRF token. */
  const session = async (username: string, password = PASSWORD) => {
    const res = await signIn(username, password);
    assert.equal(res.statusCode, 200, res.body);
    return { cookie: cookieOf(res).pair, csrf: res.json().csrfToken as string, body: res.json() };
  };
  const events = async (type: string) => {
    const res = await h.request('GET', `/admin/v1/audit-events?filters=${encodeURIComponent(`type eq "${type}"`)}`, h.admin.token);
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { actor: { alias: string } | null; target: { id: string }; data: { object: Record<string, unknown> } }[];
  };
  return { setPassword, signIn, withCookie, session, events };
}

describe('passwords', () => {
  let h: Harness;
  let t: ReturnType<typeof helpers>;
  let jane: Caller;
  before(async () => {
    h = await harness({}, FAST);
    t = helpers(h);
    jane = await h.caller('jane.doe', { email: 'jdoe@example.com', rights: ['idn:nesr:read'] });
  });
  after(() => h.close());

  test('an org admin sets a password: 204, stored as a scrypt hash, an identity.password_set event without it', async () => {
    const res = await t.setPassword(jane.identity.id, PASSWORD);
    assert.equal(res.statusCode, 204, res.body);
    const row = await h.app.db.kysely.selectFrom('identity_passwords').selectAll().where('identity_id', '=', jane.identity.id).executeTakeFirstOrThrow();
    assert.match(row.hash, /^scrypt\$1024\$8\$1\$/);
    assert.ok(!row.hash.includes(PASSWORD));
    const [event] = await t.events('identity.password_set');
    assert.equal(event?.target.id, jane.identity.id);
    assert.equal(event?.actor?.alias, 'admin');
    const log = await h.request('GET', '/admin/v1/audit-events', h.admin.token);
    assert.ok(!log.body.includes(PASSWORD), 'the password is in no event');
  });

  test('short, common, sequential, repetitive and personal passwords are refused: 400 naming password', async () => {
    for (const [password, text] of [
      ['Sh0rt!pass', /at least 12 characters/],
      ['Password123!', /too common/],
      ['P@ssw0rd2024!!', /too common/],
      ['qwertyqwerty', /too common/],
      ['Welcome2024!!', /too common/],
      ['123456789012', /sequence/],
      ['qwertyuiopasdf', /sequence/],
      ['abababababababab', /5 different characters/],
      ['jane.doe.2024!', /alias, email or name/],
      ['my-jdoe-secret-77', /alias, email or name/],
      ['x'.repeat(257), /at most 256/],
    ] as const) {
      const res = await t.setPassword(jane.identity.id, password);
      assert.equal(res.statusCode, 400, `${password}: ${res.body}`);
      const error = errorOf(res);
      assert.equal(error.detailCode, '400.1 Bad Request Content');
      assert.match(error.causes[0]!.text, /^password /);
      assert.match(error.causes[0]!.text, text);
    }
  });

  test('only org admins set passwords; an unknown identity is a 404; a body without a password a 400', async () => {
    assert.equal((await t.setPassword(jane.identity.id, PASSWORD, jane.token)).statusCode, 403);
    assert.equal((await t.setPassword('0123456789abcdef0123456789abcdef', PASSWORD)).statusCode, 404);
    const res = await h.request('PUT', `/admin/v1/identities/${jane.identity.id}/password`, h.admin.token, {});
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /password/);
  });
});

describe('sessions', () => {
  let h: Harness;
  let t: ReturnType<typeof helpers>;
  let ops: Caller;
  let reader: Caller;
  before(async () => {
    h = await harness({}, FAST);
    t = helpers(h);
    ops = await h.caller('ops', { admin: true, email: 'Ops.Lead@example.com' });
    reader = await h.caller('reader', { rights: ['idn:nesr:read'] });
    for (const caller of [ops, reader]) assert.equal((await t.setPassword(caller.identity.id, PASSWORD)).statusCode, 204);
  });
  after(() => h.close());

  test('signing in sets an HttpOnly, SameSite=Lax cookie (not Secure over http) and answers the session with its CSRF token', async () => {
    const res = await t.signIn('ops', PASSWORD);
    assert.equal(res.statusCode, 200, res.body);
    const cookie = cookieOf(res);
    assert.match(cookie.pair, /^nelm_session=[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(cookie.attributes.sort(), ['HttpOnly', 'Max-Age=43200', 'Path=/', 'SameSite=Lax']);
    assert.equal(res.headers['cache-control'], 'no-store');
    const body = res.json();
    assert.equal(body.identity.alias, 'ops');
    assert.equal(typeof body.csrfToken, 'string');
    // Only a hash of the session id is stored.
    const rows = await h.app.db.kysely.selectFrom('sessions').selectAll().where('identity_id', '=', ops.identity.id).execute();
    assert.ok(rows.some((r) => r.id_hash === createHash('sha256').update(cookie.value).digest('hex')));
    assert.ok(rows.every((r) => !JSON.stringify(r).includes(cookie.value)));
    const got = await t.withCookie('GET', SESSION, cookie.pair);
    assert.equal(got.statusCode, 200, got.body);
    assert.equal(got.json().csrfToken, body.csrfToken);
  });

  test('the username is the alias or the email, in any case', async () => {
    for (const username of ['OPS', 'ops.lead@example.com']) assert.equal((await t.signIn(username, PASSWORD)).statusCode, 200, username);
  });

  test('a wrong password, an unknown username and an identity without a password are the same 401', async () => {
    const none = await h.caller('nopassword');
    for (const [username, password] of [
      ['ops', `${PASSWORD}x`],
      ['nobody', PASSWORD],
      [none.identity.alias, PASSWORD],
    ]) {
      const res = await t.signIn(username!, password!);
      assert.equal(res.statusCode, 401);
      assert.deepEqual(res.json(), { error: 'wrong username or password' });
      assert.equal(res.headers['set-cookie'], undefined);
    }
  });

  test('the API answers a session cookie as a token: reads work, writes need the CSRF token (403 without)', async () => {
    const { cookie, csrf } = await t.session('ops');
    const list = await t.withCookie('GET', '/v2024/non-employee-sources', cookie);
    assert.equal(list.statusCode, 200, list.body);
    const body = sourceBody('Console source', ops.identity.id);
    const refused = await t.withCookie('POST', '/v2024/non-employee-sources', cookie, body);
    assert.equal(refused.statusCode, 403);
    assert.match(errorOf(refused).messages[0]!.text, /CSRF/);
    const other = csrf.endsWith('A') ? 'B' : 'A';
    const wrong = await t.withCookie('POST', '/v2024/non-employee-sources', cookie, body, `${csrf.slice(0, -1)}${other}`);
    assert.equal(wrong.statusCode, 403);
    assert.equal((await h.request('GET', '/v2024/non-employee-sources', h.admin.token)).json().length, 0, 'nothing stored');
    const created = await t.withCookie('POST', '/v2024/non-employee-sources', cookie, body, csrf);
    assert.equal(created.statusCode, 200, created.body);
    const [event] = await t.events('source.created');
    assert.equal(event?.actor?.alias, 'ops', 'the identity signed in is the actor');
  });

  test("a session carries its identity's rights, no more: a reader reads, and is refused the admin API", async () => {
    const { cookie, csrf } = await t.session('reader');
    assert.equal((await t.withCookie('GET', '/v2024/non-employee-records', cookie)).statusCode, 200);
    assert.equal((await t.withCookie('GET', '/admin/v1/identities', cookie)).statusCode, 403);
    const refused = await t.withCookie('POST', '/v2024/non-employee-sources', cookie, sourceBody('Not mine', reader.identity.id), csrf);
    assert.equal(refused.statusCode, 403);
  });

  test('bearer tokens are unaffected, and win over a cookie; no token and no cookie is the usual 401', async () => {
    const { cookie } = await t.session('reader');
    const res = await h.request('GET', '/admin/v1/identities', h.admin.token, undefined, { cookie });
    assert.equal(res.statusCode, 200, 'the admin token decides');
    const post = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, sourceBody('By token', ops.identity.id), { cookie });
    assert.equal(post.statusCode, 200, 'no CSRF token needed with a bearer token');
    assert.equal((await h.request('GET', '/v2024/non-employee-sources', undefined)).statusCode, 401);
    const bogus = await t.withCookie('GET', '/v2024/non-employee-sources', 'nelm_session=forged');
    assert.equal(bogus.statusCode, 401);
    assert.deepEqual(bogus.json(), { error: 'the session has ended: sign in again' });
    assert.equal((await h.request('GET', SESSION, h.admin.token)).statusCode, 404, 'a token has no session');
  });

  test('signing out needs the CSRF token, ends the session and clears the cookie', async () => {
    const { cookie, csrf } = await t.session('ops');
    assert.equal((await t.withCookie('DELETE', SESSION, cookie)).statusCode, 403);
    const out = await t.withCookie('DELETE', SESSION, cookie, undefined, csrf);
    assert.equal(out.statusCode, 200, out.body);
    assert.deepEqual(out.json(), { sessionsEnded: 1 });
    assert.deepEqual(cookieOf(out).attributes.sort(), ['HttpOnly', 'Max-Age=0', 'Path=/', 'SameSite=Lax']);
    assert.equal(cookieOf(out).value, '');
    assert.equal((await t.withCookie('GET', SESSION, cookie)).statusCode, 401);
  });

  test("signing out everywhere ends every session of the identity, not others'", async () => {
    const first = await t.session('ops');
    const second = await t.session('ops');
    const other = await t.session('reader');
    const out = await t.withCookie('DELETE', '/console/api/sessions', first.cookie, undefined, first.csrf);
    assert.equal(out.statusCode, 200, out.body);
    assert.ok(out.json().sessionsEnded >= 2);
    for (const s of [first, second]) assert.equal((await t.withCookie('GET', SESSION, s.cookie)).statusCode, 401);
    assert.equal((await t.withCookie('GET', SESSION, other.cookie)).statusCode, 200);
    // With a token: every session of the token's identity.
    const byToken = await h.request('DELETE', '/console/api/sessions', reader.token);
    assert.equal(byToken.statusCode, 200);
    assert.equal((await t.withCookie('GET', SESSION, other.cookie)).statusCode, 401);
  });

  test("setting a password again ends the identity's sessions", async () => {
    const { cookie } = await t.session('reader');
    assert.equal((await t.setPassword(reader.identity.id, PASSWORD)).statusCode, 204);
    assert.equal((await t.withCookie('GET', SESSION, cookie)).statusCode, 401);
  });

  test('sign-ins, refusals and sign-outs are in the audit trail, never the password', async () => {
    const signedIn = await t.events('auth.signed_in');
    assert.ok(signedIn.some((e) => e.actor?.alias === 'ops' && e.data.object.address === '127.0.0.1' && e.data.object.method === 'password'));
    const refused = await t.events('auth.sign_in_refused');
    const reasons = refused.map((e) => e.data.object.reason);
    for (const reason of ['wrong_password', 'unknown_user', 'no_password']) assert.ok(reasons.includes(reason), reason);
    assert.ok(refused.every((e) => e.actor === null));
    const out = await t.events('auth.signed_out');
    assert.ok(out.some((e) => e.data.object.everywhere === true) && out.some((e) => e.data.object.everywhere === false));
    const log = await h.request('GET', '/admin/v1/audit-events', h.admin.token);
    assert.ok(!log.body.includes(PASSWORD));
  });
});

describe('session timeouts and the Secure attribute', () => {
  let h: Harness;
  let t: ReturnType<typeof helpers>;
  before(async () => {
    h = await harness(
      {},
      { ...FAST, NELM_SESSION_IDLE_TIMEOUT: '1', NELM_SESSION_ABSOLUTE_TIMEOUT: '3', NELM_PUBLIC_URL: 'https://nelm.example.com/console/' },
    );
    t = helpers(h);
    const ops = await h.caller('ops', { admin: true });
    assert.equal((await t.setPassword(ops.identity.id, PASSWORD)).statusCode, 204);
  });
  after(() => h.close());

  test('behind https the cookie is Secure', async () => {
    const res = await t.signIn('ops', PASSWORD);
    assert.ok(cookieOf(res).attributes.includes('Secure'));
    assert.ok(cookieOf(res).attributes.includes('Max-Age=3'));
  });

  test('a session unused for the idle timeout has ended', async () => {
    const { cookie } = await t.session('ops');
    await sleep(600);
    assert.equal((await t.withCookie('GET', SESSION, cookie)).statusCode, 200, 'used within the idle timeout');
    await sleep(1200);
    assert.equal((await t.withCookie('GET', SESSION, cookie)).statusCode, 401);
  });

  test('a session in use ends at the absolute timeout', async () => {
    const { cookie } = await t.session('ops');
    const started = Date.now();
    while (Date.now() - started < 2600) {
      assert.equal((await t.withCookie('GET', SESSION, cookie)).statusCode, 200);
      await sleep(400);
    }
    await sleep(Math.max(0, 3100 - (Date.now() - started)));
    assert.equal((await t.withCookie('GET', SESSION, cookie)).statusCode, 401);
  });
});

describe('the sign-in throttle', () => {
  let h: Harness;
  let t: ReturnType<typeof helpers>;
  before(async () => {
    h = await harness({}, { ...FAST, NELM_AUTH_THROTTLE: '3/5' });
    t = helpers(h);
    const ops = await h.caller('ops', { admin: true });
    assert.equal((await t.setPassword(ops.identity.id, PASSWORD)).statusCode, 204);
  });
  after(() => h.close());

  test('failures lock the account: 429 with Retry-After, even for the right password; it signs in once the lock ends', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await t.signIn('ops', 'wrong-password-000', `10.0.0.${i + 1}`)).statusCode, 401);
    const locked = await t.signIn('ops', PASSWORD, '10.0.0.9');
    assert.equal(locked.statusCode, 429);
    assert.equal(locked.headers['retry-after'], '1');
    assert.equal((await t.signIn('OPS', PASSWORD, '10.0.0.9')).statusCode, 429, 'the account, however it is spelt');
    await sleep(1100);
    assert.equal((await t.signIn('ops', PASSWORD, '10.0.0.9')).statusCode, 200);
  });

  test('failures lock the address, whatever the usernames', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await t.signIn(`nobody${i}`, PASSWORD, '10.1.0.1')).statusCode, 401);
    const locked = await t.signIn('ops', PASSWORD, '10.1.0.1');
    assert.equal(locked.statusCode, 429);
    assert.ok(Number(locked.headers['retry-after']) >= 1);
    assert.equal((await t.signIn('ops', PASSWORD, '10.1.0.2')).statusCode, 200, 'another address is not locked');
  });
});

test('the log of setting a password, signing in (right, wrong, locked) and signing out holds no password, cookie or CSRF token', async () => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const config = testConfig({ logLevel: 'trace' }, { ...FAST, NELM_AUTH_THROTTLE: '1/5' });
  const app = await buildApp(config, { logger: { level: 'trace', stream, serializers: logSerializers } });
  try {
    const token = (
      await app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'test-admin', client_secret: 'test-admin-secret-0123456789' }).toString(),
      })
    ).json().access_token as string;
    const admin = (await app.services.directory.identityByAlias(config.tenant, 'admin'))!;
    const put = await app.inject({
      method: 'PUT',
      url: `/admin/v1/identities/${admin.id}/password`,
      headers: { authorization: `Bearer ${token}` },
      payload: { password: PASSWORD },
    });
    assert.equal(put.statusCode, 204);
    const weak = 'Password123!';
    const refused = await app.inject({
      method: 'PUT',
      url: `/admin/v1/identities/${admin.id}/password`,
      headers: { authorization: `Bearer ${token}` },
      payload: { password: weak },
    });
    assert.equal(refused.statusCode, 400);
    const signIn = await app.inject({ method: 'POST', url: SESSION, payload: { username: 'admin', password: PASSWORD } });
    assert.equal(signIn.statusCode, 200);
    const { pair } = cookieOf(signIn);
    const csrf = signIn.json().csrfToken as string;
    const wrong = 'not-the-password-at-all';
    assert.equal((await app.inject({ method: 'POST', url: SESSION, payload: { username: 'admin', password: wrong } })).statusCode, 401);
    assert.equal((await app.inject({ method: 'POST', url: SESSION, payload: { username: 'admin', password: PASSWORD } })).statusCode, 429);
    assert.equal((await app.inject({ method: 'DELETE', url: SESSION, headers: { cookie: pair, 'x-csrf-token': csrf } })).statusCode, 200);
    const log = lines.join('');
    assert.match(log, /sign-in refused/);
    for (const secret of [PASSWORD, weak, wrong, pair.split('=')[1]!, csrf]) assert.ok(!log.includes(secret), `the log holds ${secret}`);
  } finally {
    await app.close();
    await dropSchema(config);
  }
});
