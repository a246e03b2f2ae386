/** `data` keys come back in the order of the source's schema attributes, on every operation. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness } from '../helpers/app.js';
import { addAttribute, createSource, recordBody } from '../helpers/factories.js';
import { bulkCalls, SYSTEM } from '../helpers/bulk.js';

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

  /** A source of its own with the attributes in ORDER (the shared one loses `alpha` below). */
  const orderedSource = async (name: string, approvers: string[] = []) => {
    const id = await createSource(h, name, h.admin.identity.id, { approvers });
    for (const attribute of ORDER) await addAttribute(h, id, attribute);
    return id;
  };

  test("the approver's detail (include-detail=true) and the requests list: the attributes order", async () => {
    const approved = await orderedSource('Order approved', [h.admin.identity.id]);
    const data = { beta: 'b', mid: 'm', alpha: 'a', zeta: 'z' };
    const request = await h.request('POST', '/v2024/non-employee-requests', h.admin.token, recordBody(approved, 'order.pending', { data }));
    assert.equal(request.statusCode, 200, request.body);
    assert.deepEqual(keys(request.json()), ORDER);
    const itemId = request.json().approvalItems[0].id;
    for (const query of ['', '?include-detail=true']) {
      const detail = await h.request('GET', `/v2024/non-employee-approvals/${itemId}${query}`, h.admin.token);
      assert.equal(detail.statusCode, 200, detail.body);
      assert.deepEqual(keys(detail.json().nonEmployeeRequest), ORDER, query);
    }
    const beta = await h.request('GET', `/beta/non-employee-approvals/${itemId}?include-detail=true`, h.admin.token);
    assert.equal(beta.statusCode, 200, beta.body);
    assert.deepEqual(keys(beta.json().nonEmployeeRequest), ORDER);
    const filter = `filters=${encodeURIComponent(`sourceId eq "${approved}"`)}`;
    const listed = await h.request('GET', `/v2024/non-employee-requests?requested-for=me&${filter}`, h.admin.token);
    assert.equal(listed.statusCode, 200, listed.body);
    const requests = listed.json() as { accountName: string; data: Record<string, string> }[];
    assert.deepEqual(
      requests.map((r) => r.accountName),
      ['order.pending'],
    );
    assert.deepEqual(keys(requests[0]!), ORDER);
    // Approved, the request's record keeps the order too.
    const approve = await h.request('POST', `/v2024/non-employee-approvals/${itemId}/approve`, h.admin.token, {});
    assert.equal(approve.statusCode, 200, approve.body);
    const record = await h.request('GET', `${records}?${filter}`, h.admin.token);
    assert.deepEqual(keys(record.json()[0]), ORDER);
  });

  test('records made and updated by a bulk import: the attributes order, not the columns order', async () => {
    const imported = await orderedSource('Order imported');
    const bulk = bulkCalls(h);
    const line = (name: string, department: string) =>
      `${name},Ann,Lee,555-0100,${name}@example.com,admin,2024-01-01,2024-12-31,b-${department},m,a-${department},z`;
    const file = (...lines: string[]) => `${[`${SYSTEM},beta,mid,alpha,zeta`, ...lines].join('\n')}\n`;
    const first = await bulk.finished(imported, await bulk.queued(imported, file(line('bulk.one', '1'), line('bulk.two', '1'))));
    assert.equal(first.status, 'COMPLETED', first.message ?? '');
    const listed = async () => {
      const res = await h.request('GET', `${records}?filters=${encodeURIComponent(`sourceId eq "${imported}"`)}&sorters=accountName`, h.admin.token);
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as { id: string; data: Record<string, string> }[];
    };
    const made = await listed();
    assert.equal(made.length, 2);
    for (const record of made) {
      assert.deepEqual(keys(record), ORDER);
      assert.deepEqual(keys((await h.request('GET', `${records}/${record.id}`, h.admin.token)).json()), ORDER);
    }
    const second = await bulk.finished(imported, await bulk.queued(imported, file(line('bulk.one', '2'))));
    assert.equal(second.status, 'COMPLETED', second.message ?? '');
    const updated = await listed();
    assert.deepEqual(updated[0]!.data, { zeta: 'z', alpha: 'a-2', mid: 'm', beta: 'b-2' });
    for (const record of updated) assert.deepEqual(keys(record), ORDER);
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
