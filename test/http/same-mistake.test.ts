/**
 * The same mistake gets the same answer, whichever operation it is made on: `requested-for`
 * values, a rejection's comment, a list over its size.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Caller, errorOf, harness, type Harness } from '../helpers/app.js';
import { createSource, recordBody, sourceBody } from '../helpers/factories.js';

describe('the same mistake, the same answer', () => {
  let h: Harness;
  let manager: Caller;
  let approver: Caller;
  let itemId: string;
  let sourceId: string;

  before(async () => {
    h = await harness();
    manager = await h.caller('same.manager');
    approver = await h.caller('same.approver');
    sourceId = await createSource(h, 'Same', manager.identity.id, { approvers: [approver.identity.id], accountManagers: [manager.identity.id] });
    const created = await h.request('POST', '/v2024/non-employee-requests', manager.token, recordBody(sourceId, 'same.one', { manager: 'same.manager' }));
    assert.equal(created.statusCode, 200, created.body);
    itemId = created.json().approvalItems[0].id;
  });
  after(() => h.close());

  const lists = [
    (value: string) => `/v2024/non-employee-sources?requested-for=${value}`,
    (value: string) => `/v2024/non-employee-requests?requested-for=${value}`,
    (value: string) => `/v2024/non-employee-approvals?requested-for=${value}`,
    (value: string) => `/v2024/non-employee-requests/summary/${value}`,
    (value: string) => `/v2024/non-employee-approvals/summary/${value}`,
  ];

  test('requested-for that is neither "me" nor an id: 400.1.1 naming it, everywhere', async () => {
    for (const url of lists) {
      const res = await h.request('GET', url('nonsense'), manager.token);
      assert.equal(res.statusCode, 400, `${url('nonsense')}: ${res.body}`);
      assert.equal(errorOf(res).detailCode, '400.1.1 Illegal value');
      assert.equal(errorOf(res).messages[0]!.text, 'requested-for must be "me" or an identity id, got "nonsense"');
    }
  });

  test("requested-for=me in any case, or the caller's own id, is the caller, everywhere", async () => {
    for (const caller of [manager, approver]) {
      for (const value of ['me', 'ME', 'Me', caller.identity.id]) {
        for (const url of lists) {
          const res = await h.request('GET', url(value), caller.token);
          assert.equal(res.statusCode, 200, `${caller.identity.alias} ${url(value)}: ${res.body}`);
        }
      }
    }
  });

  test('a rejection without a comment and with a blank one: the same 400', async () => {
    const missing = await h.request('POST', `/v2024/non-employee-approvals/${itemId}/reject`, approver.token, {});
    const blank = await h.request('POST', `/v2024/non-employee-approvals/${itemId}/reject`, approver.token, { comment: '  ' });
    for (const res of [missing, blank]) {
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(errorOf(res).detailCode, '400.1 Bad Request Content');
      assert.deepEqual(
        errorOf(res).causes.map((c) => c.text),
        ['comment is required'],
      );
    }
  });

  test('four approvers: the same words whether the schema or the service counts them', async () => {
    const ids = await Promise.all(['a', 'b', 'c', 'd'].map(async (n) => (await h.caller(`same.four.${n}`)).identity.id));
    const created = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, sourceBody('Four', manager.identity.id, { approvers: ids }));
    const patched = await h.request('PATCH', `/v2024/non-employee-sources/${sourceId}`, h.admin.token, [
      { op: 'replace', path: '/approvers', value: ids.map((id) => ({ id })) },
    ]);
    for (const res of [created, patched]) {
      assert.equal(res.statusCode, 400, res.body);
      assert.deepEqual(
        errorOf(res).causes.map((c) => c.text),
        ['approvers must not have more than 3 entries'],
      );
    }
  });
});
