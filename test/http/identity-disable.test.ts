/**
 * Disabling an identity (PATCH /admin/v1/identities/{id} `{"disabled": true}`): its API clients get
 * no token and the tokens they hold are refused at once; its console sessions are refused and it
 * cannot sign in; enabling it again restores what it may do. The tenant keeps an enabled org admin,
 * also when two org admins disable each other at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Caller, errorOf, type Harness, harness } from '../helpers/app.js';

const PASSWORD = 'correct horse battery staple 42';
const SESSION = '/console/api/session';

describe('disabled identities', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h?.close());

  const patch = (id: string, body: unknown, token = h.admin.token) => h.request('PATCH', `/admin/v1/identities/${id}`, token, body);
  const tokenRequest = (clientId: string, clientSecret: string) =>
    h.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }).toString(),
    });
  const signIn = (username: string, password: string) => h.app.inject({ method: 'POST', url: SESSION, payload: { username, password } });
  const events = async (filters: string) =>
    (await h.request('GET', `/admin/v1/audit-events?sorters=-time&filters=${encodeURIComponent(filters)}`, h.admin.token)).json() as {
      data: { object: Record<string, unknown>; changes?: Record<string, unknown> };
    }[];

  test('a disabled identity gets no token, its tokens and sessions are refused, it cannot sign in; enabled again, it can', async () => {
    const dora = await h.caller('dora.disabled', { rights: ['idn:nesr:read'] });
    const client = (await h.request('POST', `/admin/v1/identities/${dora.identity.id}/clients`, h.admin.token)).json() as {
      clientId: string;
      clientSecret: string;
    };
    const issued = await tokenRequest(client.clientId, client.clientSecret);
    assert.equal(issued.statusCode, 200, issued.body);
    const held = issued.json().access_token as string;
    assert.equal((await h.request('GET', '/v3/non-employee-sources', held)).statusCode, 200);
    assert.equal((await h.request('PUT', `/admin/v1/identities/${dora.identity.id}/password`, h.admin.token, { password: PASSWORD })).statusCode, 204);
    const signedIn = await signIn('dora.disabled', PASSWORD);
    assert.equal(signedIn.statusCode, 200, signedIn.body);
    const cookie = String(signedIn.headers['set-cookie']).split(';')[0]!;
    assert.equal((await h.request('GET', '/v3/non-employee-sources', undefined, undefined, { cookie })).statusCode, 200);

    const disabled = await patch(dora.identity.id, { disabled: true });
    assert.equal(disabled.statusCode, 200, disabled.body);
    assert.equal(disabled.json().disabled, true);
    assert.equal((await h.request('GET', `/admin/v1/identities/${dora.identity.id}`, h.admin.token)).json().disabled, true);
    const [updated] = await events(`type eq "identity.updated" and targetId eq "${dora.identity.id}"`);
    assert.deepEqual(updated!.data.changes, { disabled: { old: false, new: true } });

    // The tokens it holds, its session, and the tokens made for it before (the harness's) are refused at once.
    for (const token of [held, dora.token]) {
      const refused = await h.request('GET', '/v3/non-employee-sources', token);
      assert.equal(refused.statusCode, 401, refused.body);
    }
    assert.equal((await h.request('GET', '/v3/non-employee-sources', undefined, undefined, { cookie })).statusCode, 401);
    // The right secret gets no token (the same answer as a wrong one); the audit trail says why.
    for (const secret of [client.clientSecret, 'not-the-secret']) {
      const refused = await tokenRequest(client.clientId, secret);
      assert.equal(refused.statusCode, 401, refused.body);
      assert.deepEqual(refused.json(), { error: 'invalid_client', error_description: 'Bad credentials' });
    }
    const refusals = await events(`type eq "auth.token_refused" and targetId eq "${client.clientId}"`);
    assert.deepEqual(
      refusals.map((e) => e.data.object.reason),
      ['wrong_secret', 'identity_disabled'],
    );
    // The right password is told the account is disabled; a wrong one is not.
    const refusedSignIn = await signIn('dora.disabled', PASSWORD);
    assert.equal(refusedSignIn.statusCode, 401);
    assert.deepEqual(refusedSignIn.json(), { error: 'this account is disabled: ask an org admin' });
    const wrong = await signIn('dora.disabled', `${PASSWORD}!`);
    assert.equal(wrong.statusCode, 401);
    assert.match(wrong.json().error, /wrong username or password/);

    const enabled = await patch(dora.identity.id, { disabled: false });
    assert.equal(enabled.statusCode, 200, enabled.body);
    assert.equal(enabled.json().disabled, false);
    const again = await tokenRequest(client.clientId, client.clientSecret);
    assert.equal(again.statusCode, 200, again.body);
    assert.equal((await h.request('GET', '/v3/non-employee-sources', again.json().access_token)).statusCode, 200);
    assert.equal((await signIn('dora.disabled', PASSWORD)).statusCode, 200);
    // The session refused while it was disabled stays ended.
    assert.equal((await h.request('GET', '/v3/non-employee-sources', undefined, undefined, { cookie })).statusCode, 401);
  });

  test('the last enabled org admin cannot be disabled nor lose the flag: 400 naming the field; anyone else is refused', async () => {
    const lone = await harness();
    try {
      const id = lone.admin.identity.id;
      const cases: [unknown, string][] = [
        [{ disabled: true }, 'disabled'],
        [{ admin: false }, 'admin'],
      ];
      for (const [body, field] of cases) {
        const refused = await lone.request('PATCH', `/admin/v1/identities/${id}`, lone.admin.token, body);
        assert.equal(refused.statusCode, 400, refused.body);
        assert.deepEqual(
          errorOf(refused).causes.map((c: { text: string }) => c.text),
          [`${field} cannot be ${field === 'disabled'}: the tenant would have no enabled org admin left`],
        );
      }
      const second = await lone.caller('second.admin', { admin: true });
      const done = await lone.request('PATCH', `/admin/v1/identities/${id}`, second.token, { disabled: true });
      assert.equal(done.statusCode, 200, done.body);
      const last = await lone.request('PATCH', `/admin/v1/identities/${second.identity.id}`, second.token, { disabled: true });
      assert.equal(last.statusCode, 400, last.body);
      const reader = await lone.caller('rhea.reader', { rights: ['idn:nesr:read'] });
      assert.equal((await lone.request('PATCH', `/admin/v1/identities/${second.identity.id}`, reader.token, { disabled: true })).statusCode, 403);
      assert.equal((await lone.request('PATCH', `/admin/v1/identities/${second.identity.id}`, second.token, { disabled: 'yes' })).statusCode, 400);
    } finally {
      await lone.close();
    }
  });

  test('two org admins disabling each other at once: one of them stays enabled', async () => {
    const pair = await harness();
    try {
      const [ann, ben] = [await pair.caller('ann.admin', { admin: true }), await pair.caller('ben.admin', { admin: true })] as [Caller, Caller];
      assert.equal((await pair.request('PATCH', `/admin/v1/identities/${pair.admin.identity.id}`, ann.token, { disabled: true })).statusCode, 200);
      for (let round = 0; round < 5; round++) {
        const answers = await Promise.all([
          pair.request('PATCH', `/admin/v1/identities/${ben.identity.id}`, ann.token, { disabled: true }),
          pair.request('PATCH', `/admin/v1/identities/${ann.identity.id}`, ben.token, { disabled: true }),
        ]);
        const ok = answers.filter((a) => a.statusCode === 200);
        assert.equal(ok.length, 1, answers.map((a) => `${a.statusCode} ${a.body}`).join(' | '));
        // The other was refused: the last admin (400), or already disabled when it was checked (401).
        for (const a of answers) assert.ok([200, 400, 401].includes(a.statusCode), a.body);
        const admins = await pair.app.services.directory.listIdentities(pair.config.tenant, 100, 0);
        const enabled = admins.filter((i) => i.admin && !i.disabled);
        assert.equal(enabled.length, 1);
        // The disabled one is enabled again by the other, for the next round.
        const survivor = enabled[0]!.id === ann.identity.id ? ann : ben;
        const other = survivor === ann ? ben : ann;
        assert.equal((await pair.request('PATCH', `/admin/v1/identities/${other.identity.id}`, survivor.token, { disabled: false })).statusCode, 200);
      }
    } finally {
      await pair.close();
    }
  });
});
