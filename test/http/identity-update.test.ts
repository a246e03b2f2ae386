/** PATCH /admin/v1/identities/{id}: an org admin changes a person's name, email, admin flag and rights; the change is in the audit trail. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { errorOf, harness, type Harness } from '../helpers/app.js';

describe('admin API: changing an identity', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(async () => h.close());

  test('changes what it names, keeps the rest, and writes identity.updated with the changes', async () => {
    const made = (await h.request('POST', '/admin/v1/identities', h.admin.token, { alias: 'rita.rights', name: 'Rita', email: 'rita@example.com' })).json();
    const changed = await h.request('PATCH', `/admin/v1/identities/${made.id}`, h.admin.token, {
      name: 'Rita Rights',
      rights: ['idn:nesr:read', 'idn:nesr:read', 'idn:nesr:create'],
    });
    assert.equal(changed.statusCode, 200, changed.body);
    assert.deepEqual(changed.json(), {
      id: made.id,
      alias: 'rita.rights',
      name: 'Rita Rights',
      email: 'rita@example.com',
      admin: false,
      rights: ['idn:nesr:read', 'idn:nesr:create'],
      disabled: false,
    });
    const stored = (await h.request('GET', `/admin/v1/identities/${made.id}`, h.admin.token)).json();
    assert.deepEqual(stored, changed.json());

    const events = (
      await h.request('GET', `/admin/v1/audit-events?filters=${encodeURIComponent(`type eq "identity.updated" and targetId eq "${made.id}"`)}`, h.admin.token)
    ).json();
    assert.equal(events.length, 1);
    assert.deepEqual(events[0].data.changes, { name: { old: 'Rita', new: 'Rita Rights' }, rights: { old: [], new: ['idn:nesr:read', 'idn:nesr:create'] } });

    const same = await h.request('PATCH', `/admin/v1/identities/${made.id}`, h.admin.token, { name: 'Rita Rights' });
    assert.equal(same.statusCode, 200);
    const after = (
      await h.request('GET', `/admin/v1/audit-events?filters=${encodeURIComponent(`type eq "identity.updated" and targetId eq "${made.id}"`)}`, h.admin.token)
    ).json();
    assert.equal(after.length, 1, 'a change that changes nothing writes no event');
  });

  test('bad input is a 400 naming the field; an unknown identity is a 404; anyone but an org admin is refused', async () => {
    const made = (await h.request('POST', '/admin/v1/identities', h.admin.token, { alias: 'bruno.bad' })).json();
    const cases: [unknown, RegExp][] = [
      [{ rights: ['idn:nesr:everything'] }, /rights/],
      [{ admin: 'yes' }, /admin/],
      [{ name: 'x'.repeat(257) }, /name/],
    ];
    for (const [body, field] of cases) {
      const res = await h.request('PATCH', `/admin/v1/identities/${made.id}`, h.admin.token, body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.match(
        errorOf(res)
          .causes.map((c: { text: string }) => c.text)
          .join(' '),
        field,
        JSON.stringify(body),
      );
    }
    const renamed = await h.request('PATCH', `/admin/v1/identities/${made.id}`, h.admin.token, { alias: 'renamed' });
    assert.equal(renamed.json().alias, 'bruno.bad', 'the alias is fixed');
    const control = await h.request('PATCH', `/admin/v1/identities/${made.id}`, h.admin.token, { name: 'Bruno\u0007' });
    assert.equal(control.statusCode, 400);
    const missing = await h.request('PATCH', `/admin/v1/identities/${'0'.repeat(32)}`, h.admin.token, { name: 'Nobody' });
    assert.equal(missing.statusCode, 404);
    const reader = await h.caller('reader.only', { rights: ['idn:nesr:read'] });
    const refused = await h.request('PATCH', `/admin/v1/identities/${made.id}`, reader.token, { admin: true });
    assert.equal(refused.statusCode, 403);
    assert.equal((await h.request('GET', `/admin/v1/identities/${made.id}`, h.admin.token)).json().admin, false);
  });
});
