/**
 * Names compare as people expect: an accountName is one account whatever its case, a manager alias
 * names its identity whatever its case, and text sorters sort regardless of case.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { errorOf, harness, type Harness } from '../helpers/app.js';
import { createSource, recordBody } from '../helpers/factories.js';

describe('names regardless of case', () => {
  let h: Harness;
  let sourceId: string;
  let otherId: string;
  const records = '/v2024/non-employee-records';
  const requests = '/v2024/non-employee-requests';
  const create = (accountName: string, over: Record<string, unknown> = {}, source = sourceId) =>
    h.request('POST', records, h.admin.token, recordBody(source, accountName, over));

  before(async () => {
    h = await harness();
    await h.caller('jane.doe');
    sourceId = await createSource(h, 'Case', h.admin.identity.id);
    otherId = await createSource(h, 'Other case', h.admin.identity.id);
  });
  after(() => h.close());

  test('William.Smith and william.smith are one account within a source, not across sources', async () => {
    assert.equal((await create('William.Smith')).statusCode, 200);
    for (const spelling of ['william.smith', 'WILLIAM.SMITH']) {
      const dup = await create(spelling);
      assert.equal(dup.statusCode, 400, dup.body);
      assert.equal(errorOf(dup).detailCode, '400.1.409 Reference conflict');
    }
    assert.equal((await create('william.smith', {}, otherId)).statusCode, 200);
    const second = await create('someone.else');
    const renamed = await h.request('PUT', `${records}/${second.json().id}`, h.admin.token, recordBody(sourceId, 'WiLLiam.smith'));
    assert.equal(renamed.statusCode, 400, renamed.body);
    assert.equal(errorOf(renamed).detailCode, '400.1.409 Reference conflict');
    // A record may change the case of its own name.
    const own = await h.request('PUT', `${records}/${second.json().id}`, h.admin.token, recordBody(sourceId, 'Someone.Else'));
    assert.equal(own.statusCode, 200, own.body);
    assert.equal(own.json().accountName, 'Someone.Else');
  });

  test('a request for an account that exists in another case, or is pending in another case, is refused', async () => {
    const taken = await h.request('POST', requests, h.admin.token, recordBody(sourceId, 'WILLIAM.smith'));
    assert.equal(taken.statusCode, 400, taken.body);
    assert.equal((await h.request('POST', requests, h.admin.token, recordBody(sourceId, 'New.Person'))).statusCode, 200);
    const pending = await h.request('POST', requests, h.admin.token, recordBody(sourceId, 'new.person'));
    assert.equal(pending.statusCode, 400, pending.body);
  });

  test('a manager alias names its identity whatever its case, and is kept as written', async () => {
    const res = await create('managed.one', { manager: 'JANE.Doe' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().manager, 'JANE.Doe');
    const unknown = await create('managed.two', { manager: 'jane.doe.not' });
    assert.equal(unknown.statusCode, 400);
  });

  test('text sorters sort regardless of case: alpha before Mike', async () => {
    // An approver keeps the requests pending: none becomes a record.
    const source = await createSource(h, 'Sorted', h.admin.identity.id, { approvers: [h.admin.identity.id] });
    for (const [accountName, firstName] of [
      ['s.1', 'Mike'],
      ['s.2', 'alpha'],
      ['s.3', 'Zed'],
      ['s.4', 'bravo'],
    ]) {
      assert.equal((await create(accountName!, { firstName }, source)).statusCode, 200);
      assert.equal((await h.request('POST', requests, h.admin.token, recordBody(source, `r${accountName}`, { firstName }))).statusCode, 200);
    }
    const names = async (url: string) => ((await h.request('GET', url, h.admin.token)).json() as { firstName: string }[]).map((r) => r.firstName);
    const filter = `filters=${encodeURIComponent(`sourceId eq "${source}"`)}`;
    assert.deepEqual(await names(`${records}?${filter}&sorters=firstName`), ['alpha', 'bravo', 'Mike', 'Zed']);
    assert.deepEqual(await names(`${records}?${filter}&sorters=-firstName`), ['Zed', 'Mike', 'bravo', 'alpha']);
    // Across sources too (the per-source merge), and on requests.
    const all = await names(`${records}?sorters=firstName&limit=250`);
    assert.deepEqual(
      all.filter((n) => ['Mike', 'alpha', 'Zed', 'bravo'].includes(n)),
      ['alpha', 'bravo', 'Mike', 'Zed'],
    );
    assert.deepEqual(await names(`${requests}?requested-for=me&${filter}&sorters=firstName`), ['alpha', 'bravo', 'Mike', 'Zed']);
    const sources = (await h.request('GET', '/v2024/non-employee-sources?sorters=name', h.admin.token)).json() as { name: string }[];
    assert.deepEqual(
      sources.map((s) => s.name),
      ['Case', 'Other case', 'Sorted'],
    );
  });
});
