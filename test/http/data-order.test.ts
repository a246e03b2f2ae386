/** `data` keys come back in the order of the source's schema attributes, on every operation. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness } from '../helpers/app.js';
import { addAttribute, createSource, recordBody } from '../helpers/factories.js';

describe('data in attribute order', () => {
  let h: Harness;
  let sourceId: string;
  let alphaId: string;
  const ORDER = ['zeta', 'alpha', 'mid', 'beta'];
  const records = '/v2024/non-employee-records';
  const keys = (body: { data: Record<string, string> }) => Object.keys(body.data);

  before(async () => {
    h = await harness();
    await h.caller('jane.doe');
    sourceId = await createSource(h, 'Order', h.admin.identity.id);
    for (const name of ORDER) {
      const id = await addAttribute(h, sourceId, name);
      if (name === 'alpha') alphaId = id;
    }
  });
  after(() => h.close());

  test('create, get, list, put, patch, request: the attributes order, not the order written', async () => {
    const data = { beta: 'b', mid: 'm', alpha: 'a', zeta: 'z' };
    const made = await h.request('POST', records, h.admin.token, recordBody(sourceId, 'order.one', { data }));
    assert.equal(made.statusCode, 200, made.body);
    assert.deepEqual(keys(made.json()), ORDER);
    assert.equal(made.body.indexOf('"zeta"') < made.body.indexOf('"beta"'), true);
    const id = made.json().id;
    assert.deepEqual(keys((await h.request('GET', `${records}/${id}`, h.admin.token)).json()), ORDER);
    const listed = (await h.request('GET', `${records}?filters=${encodeURIComponent(`sourceId eq "${sourceId}"`)}`, h.admin.token)).json();
    assert.deepEqual(keys(listed[0]), ORDER);
    const put = await h.request('PUT', `${records}/${id}`, h.admin.token, recordBody(sourceId, 'order.one', { data: { mid: 'm2', zeta: 'z2' } }));
    assert.deepEqual(keys(put.json()), ['zeta', 'mid']);
    const patched = await h.request('PATCH', `${records}/${id}`, h.admin.token, [{ op: 'add', path: '/data/alpha', value: 'a3' }], {
      'content-type': 'application/json-patch+json',
    });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.deepEqual(keys(patched.json()), ['zeta', 'alpha', 'mid']);
    assert.deepEqual(keys((await h.request('GET', `${records}/${id}`, h.admin.token)).json()), ['zeta', 'alpha', 'mid']);
    const request = await h.request('POST', '/v2024/non-employee-requests', h.admin.token, recordBody(sourceId, 'order.two', { data }));
    assert.equal(request.statusCode, 200, request.body);
    assert.deepEqual(keys(request.json()), ORDER);
    assert.deepEqual(keys((await h.request('GET', `/v2024/non-employee-requests/${request.json().id}`, h.admin.token)).json()), ORDER);
  });

  test('deleting an attribute removes its values and keeps the others in order', async () => {
    const made = await h.request('POST', records, h.admin.token, recordBody(sourceId, 'order.three', { data: { beta: 'b', alpha: 'a', zeta: 'z' } }));
    assert.equal(made.statusCode, 200, made.body);
    const gone = await h.request('DELETE', `/v2024/non-employee-sources/${sourceId}/schema-attributes/${alphaId}`, h.admin.token);
    assert.equal(gone.statusCode, 204, gone.body);
    const got = await h.request('GET', `${records}/${made.json().id}`, h.admin.token);
    assert.deepEqual(keys(got.json()), ['zeta', 'beta']);
  });
});
