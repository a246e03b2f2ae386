/**
 * One-time passwords (TOTP) for people signing in to the console: enrolment begun, confirmed and
 * removed by the person (CSRF as on every write), reset by an org admin; the sign-in that asks for
 * the code (`codeRequired`), takes a code once, allows one step of drift and counts wrong codes
 * as failures; NELM_CONSOLE_REQUIRE_TOTP holding an org admin's session back until enrolment
 * (bearer tokens untouched); secrets sealed at rest and in no event. Through app.inject, on either engine.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { base32Decode, hotp, totpStep } from '../../src/auth/totp.js';
import { logSerializers } from '../../src/http/logging.js';
import { type Caller, dropSchema, errorOf, harness, type Harness, testConfig } from '../helpers/app.js';

const SESSION = '/console/api/session';
const TOTP = '/console/api/session/totp';
const PASSWORD = 'violet-harbour-lantern-42';
const FAST = { NELM_PASSWORD_HASH_COST: '10' };

/** The code of a base32 secret `offset` steps from now. */
const codeOf = (secret: string, offset = 0) => hotp(base32Decode(secret)!, totpStep(Date.now()) + offset);

function helpers(h: Harness) {
  const signIn = (username: string, code?: string, password = PASSWORD) =>
    h.app.inject({ method: 'POST', url: SESSION, payload: { username, password, ...(code === undefined ? {} : { code }) } });
  const cookieOf = (res: LightMyRequestResponse) => String(res.headers['set-cookie']).split(';')[0]!;
  /** A signed-in session (200 asserted). */
  const session = async (username: string, code?: string) => {
    const res = await signIn(username, code);
    assert.equal(res.statusCode, 200, res.body);
    return { cookie: cookieOf(res), csrf: res.json().csrfToken as string, body: res.json() };
  };
  type Session = Awaited<ReturnType<typeof session>>;
  const call = (s: Session, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) =>
    h.request(method, url, undefined, body, { cookie: s.cookie, 'x-csrf-token': s.csrf });
  /** Enrols a one-time password for the session's identity: its base32 secret. */
  const enrol = async (s: Session) => {
    const begun = await call(s, 'POST', TOTP);
    assert.equal(begun.statusCode, 200, begun.body);
    const { secret } = begun.json() as { secret: string };
    const confirmed = await call(s, 'PUT', TOTP, { code: codeOf(secret) });
    assert.equal(confirmed.statusCode, 204, confirmed.body);
    return secret;
  };
  const events = async (type: string) => {
    const res = await h.request('GET', `/admin/v1/audit-events?filters=${encodeURIComponent(`type eq "${type}"`)}`, h.admin.token);
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { actor: { alias: string } | null; target: { id: string }; data: { object: Record<string, unknown> } }[];
  };
  const withPassword = async (caller: Caller) => {
    const res = await h.request('PUT', `/admin/v1/identities/${caller.identity.id}/password`, h.admin.token, { password: PASSWORD });
    assert.equal(res.statusCode, 204, res.body);
    return caller;
  };
  return { signIn, session, call, enrol, events, withPassword };
}

describe('enrolling, signing in with a code, removing', () => {
  let h: Harness;
  let t: ReturnType<typeof helpers>;
  before(async () => {
    h = await harness({}, FAST);
    t = helpers(h);
  });
  after(() => h.close());

  test('enrolment: a secret and its URI, in force only once a code of it confirms it', async () => {
    await t.withPassword(await h.caller('jane.doe', { rights: ['idn:nesr:read'] }));
    const s = await t.session('jane.doe');
    assert.equal(s.body.totp, false);
    assert.equal(s.body.totpEnrolmentRequired, false);
    const begun = await t.call(s, 'POST', TOTP);
    assert.equal(begun.statusCode, 200, begun.body);
    assert.equal(begun.headers['cache-control'], 'no-store');
    const { secret, uri } = begun.json() as { secret: string; uri: string };
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.equal(uri, `otpauth://totp/nelm:jane.doe?secret=${secret}&issuer=nelm&algorithm=SHA1&digits=6&period=30`);
    // Not in force yet: the password alone still signs in.
    assert.equal((await t.signIn('jane.doe')).statusCode, 200);

    const wrong = await t.call(s, 'PUT', TOTP, { code: codeOf(secret, 5) });
    assert.equal(wrong.statusCode, 400);
    assert.match(errorOf(wrong).messages[0]!.text, /code/);
    const malformed = await t.call(s, 'PUT', TOTP, { code: 'abcdef' });
    assert.equal(malformed.statusCode, 400);
    const noCsrf = await h.request('PUT', TOTP, undefined, { code: codeOf(secret) }, { cookie: s.cookie });
    assert.equal(noCsrf.statusCode, 403, 'CSRF token required');
    // Spaces as apps show them are ignored.
    const code = codeOf(secret);
    assert.equal((await t.call(s, 'PUT', TOTP, { code: `${code.slice(0, 3)} ${code.slice(3)}` })).statusCode, 204);
    const view = await t.call(s, 'GET', SESSION);
    assert.equal(view.json().totp, true);

    const row = await h.app.db.kysely.selectFrom('identity_totp').selectAll().executeTakeFirstOrThrow();
    assert.match(row.secret!, /^enc:v1:/, 'sealed at rest');
    assert.ok(!row.secret!.includes(secret));
    assert.equal(row.pending, null);
    const [enrolled] = await t.events('auth.totp_enrolled');
    assert.equal(enrolled?.actor?.alias, 'jane.doe');
    const log = await h.request('GET', '/admin/v1/audit-events', h.admin.token);
    assert.ok(!log.body.includes(secret), 'the secret is in no event');
  });

  test('sign-in: no code and a wrong code are 401 with codeRequired; a code is taken once; one step of drift', async () => {
    await t.withPassword(await h.caller('sam', { rights: ['idn:nesr:read'] }));
    // The checks below name "this step's code": they begin early in a 30 s step, not at its end.
    const intoStep = Date.now() % 30_000;
    if (intoStep > 25_000) await new Promise((resolve) => setTimeout(resolve, 30_100 - intoStep));
    const secret = await t.enrol(await t.session('sam'));

    const none = await t.signIn('sam');
    assert.equal(none.statusCode, 401);
    assert.deepEqual(none.json(), { error: 'a one-time code is required', codeRequired: true });
    assert.equal(none.headers['set-cookie'], undefined);
    assert.deepEqual((await t.signIn('sam', ' ')).json(), { error: 'a one-time code is required', codeRequired: true }, 'an empty code is none');
    const wrong = await t.signIn('sam', codeOf(secret, 3));
    assert.equal(wrong.statusCode, 401);
    assert.deepEqual(wrong.json(), { error: 'wrong one-time code', codeRequired: true });
    const wrongPassword = await t.signIn('sam', codeOf(secret, 1), 'not-the-password-at-all');
    assert.deepEqual(wrongPassword.json(), { error: 'wrong username or password' }, 'the password is checked first');

    // The enrolment's confirming code was this step's: it is not taken again; the next step's is.
    assert.equal((await t.signIn('sam', codeOf(secret))).statusCode, 401, 'the code that confirmed the enrolment');
    const next = codeOf(secret, 1);
    const s = await t.session('sam', next);
    assert.equal(s.body.totp, true);
    assert.equal((await t.signIn('sam', next)).statusCode, 401, 'the same code again');
    assert.equal((await t.signIn('sam', codeOf(secret, -1))).statusCode, 401, 'an earlier step after a later one');
    const reasons = (await t.events('auth.sign_in_refused')).filter((e) => e.data.object.username === 'sam').map((e) => e.data.object.reason);
    assert.ok(reasons.includes('wrong_code') && reasons.includes('reused_code'), String(reasons));
    assert.ok(!reasons.includes('code_required'), 'a missing code is no refusal of a checked secret');
  });

  test('removing: a code of it is needed; then the password alone signs in', async () => {
    await t.withPassword(await h.caller('kim', { rights: ['idn:nesr:read'] }));
    const s = await t.session('kim');
    const secret = await t.enrol(s);
    const wrong = await t.call(s, 'DELETE', TOTP, { code: codeOf(secret, 4) });
    assert.equal(wrong.statusCode, 400);
    assert.equal((await t.call(s, 'DELETE', TOTP, {})).statusCode, 400, 'code is required');
    const removed = await t.call(s, 'DELETE', TOTP, { code: codeOf(secret, 1) });
    assert.equal(removed.statusCode, 204, removed.body);
    assert.equal((await t.call(s, 'DELETE', TOTP, { code: codeOf(secret, 1) })).statusCode, 404);
    assert.equal((await t.signIn('kim')).statusCode, 200);
    assert.ok((await t.events('auth.totp_removed')).some((e) => e.actor?.alias === 'kim'));
  });

  test('an org admin resets a lost one: 204 and an event; others 403; unknown 404; tokens get 404 on the session routes', async () => {
    const lee = await t.withPassword(await h.caller('lee', { rights: ['idn:nesr:read'] }));
    await t.enrol(await t.session('lee'));
    assert.equal((await h.request('DELETE', `/admin/v1/identities/${lee.identity.id}/totp`, lee.token)).statusCode, 403);
    assert.equal((await h.request('DELETE', '/admin/v1/identities/0123456789abcdef0123456789abcdef/totp', h.admin.token)).statusCode, 404);
    const reset = await h.request('DELETE', `/admin/v1/identities/${lee.identity.id}/totp`, h.admin.token);
    assert.equal(reset.statusCode, 204, reset.body);
    assert.equal((await t.signIn('lee')).statusCode, 200);
    const [event] = (await t.events('auth.totp_reset')).filter((e) => e.target.id === lee.identity.id);
    assert.equal(event?.actor?.alias, 'admin');
    assert.equal(event?.data.object.enrolled, true);
    assert.equal((await h.request('POST', TOTP, lee.token)).statusCode, 404, 'a token has no console session');
  });

  test('wrong codes count as failed sign-ins, and at removal: the account locks', async () => {
    const h2 = await harness({}, { ...FAST, NELM_AUTH_THROTTLE: '2/30' });
    try {
      const t2 = helpers(h2);
      await t2.withPassword(await h2.caller('max', { rights: ['idn:nesr:read'] }));
      const secret = await t2.enrol(await t2.session('max'));
      for (const offset of [5, 6]) assert.equal((await t2.signIn('max', codeOf(secret, offset))).statusCode, 401);
      const locked = await t2.signIn('max', codeOf(secret, 1));
      assert.equal(locked.statusCode, 429, 'even the right code while locked');
      assert.ok(Number(locked.headers['retry-after']) >= 1);

      // Removing it: wrong codes count against the account too (a stolen session cannot guess its way).
      await t2.withPassword(await h2.caller('mia', { rights: ['idn:nesr:read'] }));
      const s = await t2.session('mia');
      const mias = await t2.enrol(s);
      for (const offset of [5, 6]) assert.equal((await t2.call(s, 'DELETE', TOTP, { code: codeOf(mias, offset) })).statusCode, 400);
      assert.equal((await t2.call(s, 'DELETE', TOTP, { code: codeOf(mias, 1) })).statusCode, 429, 'locked: even the right code');
    } finally {
      await h2.close();
    }
  });
});

describe('NELM_CONSOLE_REQUIRE_TOTP', () => {
  let h: Harness;
  let t: ReturnType<typeof helpers>;
  let boss: Caller;
  before(async () => {
    h = await harness({}, { ...FAST, NELM_CONSOLE_REQUIRE_TOTP: 'true' });
    t = helpers(h);
    boss = await t.withPassword(await h.caller('boss', { admin: true }));
    await t.withPassword(await h.caller('reader', { rights: ['idn:nesr:read'] }));
  });
  after(() => h.close());

  test('an org admin without one gets a session that may only enrol, then works in full', async () => {
    const s = await t.session('boss');
    assert.equal(s.body.totpEnrolmentRequired, true);
    assert.equal(s.body.totp, false);
    for (const [method, url] of [
      ['GET', '/v2024/non-employee-sources'],
      ['GET', '/admin/v1/identities'],
      ['POST', '/v2024/non-employee-sources'],
    ] as const) {
      const refused = await t.call(s, method, url, method === 'POST' ? {} : undefined);
      assert.equal(refused.statusCode, 403, `${method} ${url}`);
      assert.match(errorOf(refused).messages[0]!.text, /Enrol a one-time password first/);
    }
    assert.equal((await t.call(s, 'GET', SESSION)).json().totpEnrolmentRequired, true);
    assert.equal((await h.request('GET', '/v2024/non-employee-sources', boss.token)).statusCode, 200, 'bearer tokens are unaffected');

    const secret = await t.enrol(s);
    const view = (await t.call(s, 'GET', SESSION)).json();
    assert.equal(view.totpEnrolmentRequired, false);
    assert.equal(view.totp, true);
    assert.equal((await t.call(s, 'GET', '/v2024/non-employee-sources')).statusCode, 200, 'the same session, in full');

    const removal = await t.call(s, 'DELETE', TOTP, { code: codeOf(secret, 1) });
    assert.equal(removal.statusCode, 403, 'an org admin may not remove it');
    assert.match(errorOf(removal).messages[0]!.text, /NELM_CONSOLE_REQUIRE_TOTP/);
    // Nor reset it through the admin API with the session: that takes no code.
    const reset = await t.call(s, 'DELETE', `/admin/v1/identities/${boss.identity.id}/totp`);
    assert.equal(reset.statusCode, 403, reset.body);
    assert.match(errorOf(reset).messages[0]!.text, /removed with DELETE \/console\/api\/session\/totp and a code/);
    assert.equal((await t.call(s, 'GET', SESSION)).json().totp, true, 'still enrolled');
  });

  test('a held-back session may still sign out; people who are not org admins are not held back', async () => {
    const s = await t.session('reader');
    assert.equal(s.body.totpEnrolmentRequired, false);
    assert.equal((await t.call(s, 'GET', '/v2024/non-employee-sources')).statusCode, 200);

    await h.request('DELETE', `/admin/v1/identities/${boss.identity.id}/totp`, h.admin.token);
    const held = await t.session('boss');
    assert.equal(held.body.totpEnrolmentRequired, true, 'after a reset, enrolment again');
    const out = await t.call(held, 'DELETE', SESSION);
    assert.equal(out.statusCode, 200, out.body);
    assert.equal((await t.call(held, 'GET', SESSION)).statusCode, 401);
  });
});

test('the log of enrolling, signing in with codes (right, wrong) and removing holds no secret and no code', async () => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const config = testConfig({ logLevel: 'trace' }, FAST);
  const app = await buildApp(config, { logger: { level: 'trace', stream, serializers: logSerializers } });
  try {
    const identity = (await app.services.directory.identityByAlias(config.tenant, 'admin'))!;
    await app.services.sessions.setPassword(config.tenant, identity.id, PASSWORD, null);
    const signIn = (code?: string) =>
      app.inject({ method: 'POST', url: SESSION, payload: { username: 'admin', password: PASSWORD, ...(code ? { code } : {}) } });
    const first = await signIn();
    const headers = { cookie: String(first.headers['set-cookie']).split(';')[0]!, 'x-csrf-token': first.json().csrfToken as string };
    const { secret } = (await app.inject({ method: 'POST', url: TOTP, headers })).json() as { secret: string };
    const codes = [codeOf(secret), codeOf(secret, 1), codeOf(secret, 4)];
    assert.equal((await app.inject({ method: 'PUT', url: TOTP, headers, payload: { code: codes[0] } })).statusCode, 204);
    assert.equal((await signIn(codes[2])).statusCode, 401);
    assert.equal((await signIn(codes[1])).statusCode, 200);
    assert.equal((await app.inject({ method: 'DELETE', url: TOTP, headers, payload: { code: codes[2] } })).statusCode, 400);
    const log = lines.join('');
    assert.match(log, /sign-in refused/);
    assert.ok(!log.includes(secret), 'the log holds the secret');
    // A code as a text value or a query parameter (six digits may well occur inside a timestamp).
    for (const code of codes) assert.ok(!new RegExp(`["=]${code}["&]`).test(log), `the log holds ${code}`);
  } finally {
    await app.close();
    await dropSchema(config);
  }
});
