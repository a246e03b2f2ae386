/**
 * Names compare as people expect: an accountName is one account whatever its case, a manager alias
 * names its identity whatever its case, and text sorters sort regardless of case.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { errorOf, harness, type Harness } from '../helpers/app.js';
import { createSource, identityId, recordBody } from '../helpers/factories.js';

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

  test('text sorters sort regardless of case: alpha before Mike, on every caseless field', async () => {
    // Each word sorts differently with case (Mike, Zed, alpha, bravo) than without (alpha, bravo, Mike, Zed).
    const WORDS = ['Mike', 'alpha', 'Zed', 'bravo'];
    const ASC = ['alpha', 'bravo', 'Mike', 'Zed'];
    const DESC = [...ASC].reverse();
    // Managers named by the words, so that the manager sorter sorts them too.
    for (const word of WORDS) await identityId(h, word);
    // An approver keeps the requests pending: none becomes a record.
    const source = await createSource(h, 'Sorted', h.admin.identity.id, { approvers: [h.admin.identity.id] });
    const fields = (word: string) => ({ firstName: word, lastName: word, email: `${word}@example.com`, phone: word, manager: word });
    for (const word of WORDS) {
      const record = await create(word, fields(word), source);
      assert.equal(record.statusCode, 200, record.body);
      const request = await h.request('POST', requests, h.admin.token, recordBody(source, `${word}.r`, { ...fields(word), manager: 'jane.doe' }));
      assert.equal(request.statusCode, 200, request.body);
    }
    const listed = async (url: string) => {
      const res = await h.request('GET', url, h.admin.token);
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as Record<string, string>[];
    };
    /** The word a row carries in a field: accountName `Mike.r` and email `Mike@example.com` are Mike. */
    const word = (value: string) => value.replace(/(\.r|@example\.com)$/, '');
    const filter = `filters=${encodeURIComponent(`sourceId eq "${source}"`)}`;
    for (const field of ['accountName', 'firstName', 'lastName', 'email', 'phone', 'manager']) {
      const asc = await listed(`${records}?${filter}&sorters=${field}`);
      assert.deepEqual(
        asc.map((r) => word(r[field]!)),
        ASC,
        `records sorters=${field}`,
      );
      const desc = await listed(`${records}?${filter}&sorters=-${field}`);
      assert.deepEqual(
        desc.map((r) => word(r[field]!)),
        DESC,
        `records sorters=-${field}`,
      );
    }
    for (const field of ['accountName', 'firstName', 'lastName', 'email', 'phone']) {
      const asc = await listed(`${requests}?requested-for=me&${filter}&sorters=${field}`);
      assert.deepEqual(
        asc.map((r) => word(r[field]!)),
        ASC,
        `requests sorters=${field}`,
      );
      const desc = await listed(`${requests}?requested-for=me&${filter}&sorters=-${field}`);
      assert.deepEqual(
        desc.map((r) => word(r[field]!)),
        DESC,
        `requests sorters=-${field}`,
      );
    }
    // Across sources too (the per-source merge).
    const all = await listed(`${records}?sorters=firstName&limit=250`);
    assert.deepEqual(
      all.map((r) => r.firstName).filter((n) => WORDS.includes(n!)),
      ASC,
    );
    const allDesc = await listed(`${records}?sorters=-firstName&limit=250`);
    assert.deepEqual(
      allDesc.map((r) => r.firstName).filter((n) => WORDS.includes(n!)),
      DESC,
    );
    // Source names: Case, Mike, Other case, Sorted, alpha, bravo by code point.
    for (const name of ['Mike', 'alpha', 'bravo']) await createSource(h, name, h.admin.identity.id);
    const sourceNames = async (sorters: string) => (await listed(`/v2024/non-employee-sources?sorters=${sorters}`)).map((s) => s.name);
    const SOURCES = ['alpha', 'bravo', 'Case', 'Mike', 'Other case', 'Sorted'];
    assert.deepEqual(await sourceNames('name'), SOURCES);
    assert.deepEqual(await sourceNames('-name'), [...SOURCES].reverse());
  });
});
