/**
 * Ids as the published specifications write them: new objects get dashed UUIDs (version 7),
 * identities keep 32 hex, both spellings name the same object, ids stored in the 32-hex form keep
 * working; and a source is named by its `id` or its `sourceId` wherever a client writes `sourceId`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { errorOf, harness, type Harness } from '../helpers/app.js';
import { addAttribute, createSourceJson, recordBody, type SourceJson } from '../helpers/factories.js';
import { HEX32, otherSpelling, UUID7 } from '../helpers/ids.js';
import { bulkCalls, csv, row } from '../helpers/bulk.js';

describe('ids and the names of a source', () => {
  let h: Harness;
  let source: SourceJson;
  let other: SourceJson;

  before(async () => {
    h = await harness();
    const approver = await h.caller('ids.approver');
    await h.caller('jane.doe');
    source = await createSourceJson(h, 'Ids', h.admin.identity.id, { approvers: [approver.identity.id] });
    other = await createSourceJson(h, 'Other', h.admin.identity.id);
  });
  after(() => h.close());

  const records = '/v2024/non-employee-records';
  const requests = '/v2024/non-employee-requests';

  test('new sources, attributes, records, requests and approval items have UUID v7 ids; identities 32 hex', async () => {
    assert.match(source.id, UUID7);
    assert.match(source.sourceId, HEX32);
    assert.match(h.admin.identity.id, HEX32);
    assert.match(await addAttribute(h, source.id, 'badge'), UUID7);
    const record = await h.request('POST', records, h.admin.token, recordBody(source.id, 'ids.record'));
    assert.equal(record.statusCode, 200, record.body);
    assert.match(record.json().id, UUID7);
    const request = await h.request('POST', requests, h.admin.token, recordBody(source.id, 'ids.request'));
    assert.equal(request.statusCode, 200, request.body);
    assert.match(request.json().id, UUID7);
    assert.match(request.json().approvalItems[0].id, UUID7);
    // Version 7 ids begin with the time: later objects sort after earlier ones.
    assert.ok(record.json().id < request.json().id);
  });

  test('an id stored in the 32-hex form is found, changed and deleted by either spelling', async () => {
    const made = await h.request('POST', records, h.admin.token, recordBody(source.id, 'ids.old'));
    assert.equal(made.statusCode, 200, made.body);
    const hex = made.json().id.replaceAll('-', '');
    await h.app.db.kysely.updateTable('records').set({ id: hex }).where('id', '=', made.json().id).execute();
    for (const spelling of [hex, otherSpelling(hex), hex.toUpperCase()]) {
      const got = await h.request('GET', `${records}/${spelling}`, h.admin.token);
      assert.equal(got.statusCode, 200, got.body);
      assert.equal(got.json().id, hex, 'an id keeps the spelling it was stored with');
    }
    const patched = await h.request('PATCH', `${records}/${otherSpelling(hex)}`, h.admin.token, [{ op: 'replace', path: '/firstName', value: 'Old' }]);
    assert.equal(patched.statusCode, 200, patched.body);
    const bulk = await h.request('POST', `${records}/bulk-delete`, h.admin.token, { ids: [otherSpelling(hex)] });
    assert.equal(bulk.statusCode, 204, bulk.body);
    assert.equal((await h.request('GET', `${records}/${hex}`, h.admin.token)).statusCode, 404);
  });

  test("a record body names its source by id or by the source's sourceId; responses carry the id", async () => {
    const byIsc = await h.request('POST', records, h.admin.token, recordBody(source.sourceId, 'ids.isc'));
    assert.equal(byIsc.statusCode, 200, byIsc.body);
    assert.equal(byIsc.json().sourceId, source.id);
    const id = byIsc.json().id;
    const put = await h.request('PUT', `${records}/${id}`, h.admin.token, recordBody(otherSpelling(source.sourceId), 'ids.isc', { firstName: 'Put' }));
    assert.equal(put.statusCode, 200, put.body);
    assert.equal(put.json().firstName, 'Put');
    const moved = await h.request('PUT', `${records}/${id}`, h.admin.token, recordBody(other.sourceId, 'ids.isc'));
    assert.equal(moved.statusCode, 400, moved.body);
    assert.equal(errorOf(moved).detailCode, '400.1.3 Illegal update attempt');
    const nowhere = await h.request('POST', records, h.admin.token, recordBody('0123456789abcdef0123456789abcdef', 'ids.nowhere'));
    assert.equal(nowhere.statusCode, 400, nowhere.body);
    assert.deepEqual(
      errorOf(nowhere).causes.map((c) => c.text),
      ['sourceId 0123456789abcdef0123456789abcdef does not name a non-employee source'],
    );
  });

  test("a request body names its source by the source's sourceId", async () => {
    const res = await h.request('POST', requests, h.admin.token, recordBody(source.sourceId, 'ids.isc.request'));
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().sourceId, source.id);
  });

  test('sourceId filters take the id in either spelling or the source sourceId', async () => {
    const accountNames = async (url: string) => {
      const res = await h.request('GET', url, h.admin.token);
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { accountName: string }[]).map((r) => r.accountName).sort();
    };
    const expected = await accountNames(`${records}?filters=${encodeURIComponent(`sourceId eq "${source.id}"`)}`);
    assert.ok(expected.length >= 2);
    for (const value of [source.sourceId, otherSpelling(source.id), otherSpelling(source.sourceId)]) {
      assert.deepEqual(await accountNames(`${records}?filters=${encodeURIComponent(`sourceId eq "${value}"`)}`), expected, value);
    }
    const inBoth = `sourceId in ("${source.sourceId}", "${other.id}")`;
    assert.deepEqual(await accountNames(`${records}?filters=${encodeURIComponent(inBoth)}`), expected);
    const requested = await accountNames(`${requests}?requested-for=me&filters=${encodeURIComponent(`sourceId eq "${source.sourceId}"`)}`);
    assert.deepEqual(requested, ['ids.isc.request', 'ids.request']);
  });

  test('a filter naming a source deleted since lists nothing', async () => {
    const gone = await createSourceJson(h, 'Gone', h.admin.identity.id);
    const made = await h.request('POST', records, h.admin.token, recordBody(gone.id, 'ids.gone'));
    assert.equal(made.statusCode, 200, made.body);
    const listed = async () =>
      (await h.request('GET', `${records}?filters=${encodeURIComponent(`sourceId eq "${gone.sourceId}"`)}`, h.admin.token)).json() as unknown[];
    assert.equal((await listed()).length, 1);
    assert.equal((await h.request('DELETE', `/v2024/non-employee-sources/${gone.id}`, h.admin.token)).statusCode, 204);
    assert.deepEqual(await listed(), []);
  });

  test("{sourceId} paths take the source's sourceId; the source's own paths take only its id", async () => {
    const attributes = await h.request('GET', `/v2024/non-employee-sources/${source.sourceId}/schema-attributes`, h.admin.token);
    assert.equal(attributes.statusCode, 200, attributes.body);
    assert.equal((await h.request('GET', `/v2024/non-employee-sources/${source.id}/schema-attributes`, h.admin.token)).body, attributes.body);
    const template = await h.request('GET', `/v2024/non-employee-sources/${source.sourceId}/schema-attributes-template/download`, h.admin.token);
    assert.equal(template.statusCode, 200, template.body);
    assert.equal((await h.request('GET', `/v2024/non-employee-sources/${source.sourceId}`, h.admin.token)).statusCode, 404);
  });

  test("bulk upload, its status, its jobs and the records export take the source's sourceId; job and imported record ids are UUID v7", async () => {
    const bulkSource = await createSourceJson(h, 'Bulk ids', h.admin.identity.id);
    await addAttribute(h, bulkSource.id, 'department');
    const bulk = bulkCalls(h);
    const get = (path: string) => h.request('GET', path, h.admin.token);
    const base = (name: string) => `/v2024/non-employee-sources/${name}`;
    const names = [bulkSource.sourceId, otherSpelling(bulkSource.sourceId), bulkSource.id];

    // No upload yet: status null by every name.
    for (const name of names) {
      const status = await get(`${base(name)}/non-employee-bulk-upload/status`);
      assert.equal(status.statusCode, 200, `${name}: ${status.body}`);
      assert.deepEqual(status.json(), { status: null });
    }

    const jobId = await bulk.queued(bulkSource.sourceId, csv(row('bulk.ids.one'), row('bulk.ids.two')));
    assert.match(jobId, UUID7);
    const job = await bulk.finished(bulkSource.sourceId, jobId);
    assert.equal(job.status, 'COMPLETED', job.message ?? '');
    assert.deepEqual(job.counts, { created: 2, updated: 0, unchanged: 0, failed: 0 });
    // An update through the other spelling of the sourceId: the same source.
    const again = await bulk.finished(
      otherSpelling(bulkSource.sourceId),
      await bulk.queued(otherSpelling(bulkSource.sourceId), csv(row('bulk.ids.one', 'IT'))),
    );
    assert.equal(again.status, 'COMPLETED', again.message ?? '');
    assert.deepEqual(again.counts, { created: 0, updated: 1, unchanged: 0, failed: 0 });
    assert.match(again.id, UUID7);
    assert.ok(jobId < again.id, 'a later job has a later version 7 id');

    for (const name of names) {
      const status = await get(`${base(name)}/non-employee-bulk-upload/status`);
      assert.deepEqual(status.json(), { status: 'COMPLETED' }, name);
      const one = await get(`${base(name)}/non-employee-bulk-upload/jobs/${jobId}`);
      assert.equal(one.statusCode, 200, `${name}: ${one.body}`);
      assert.equal(one.json().id, jobId);
      assert.equal(one.json().sourceId, bulkSource.id, 'responses carry the id');
      const listed = await get(`${base(name)}/non-employee-bulk-upload/jobs`);
      assert.equal(listed.statusCode, 200, `${name}: ${listed.body}`);
      assert.deepEqual(
        (listed.json() as { id: string; sourceId: string }[]).map((j) => [j.id, j.sourceId]),
        [
          [again.id, bulkSource.id],
          [jobId, bulkSource.id],
        ],
      );
      const errors = await get(`${base(name)}/non-employee-bulk-upload/jobs/${jobId}/errors`);
      assert.equal(errors.statusCode, 200, `${name}: ${errors.body}`);
      const exported = await get(`${base(name)}/non-employees/download`);
      assert.equal(exported.statusCode, 200, `${name}: ${exported.body}`);
      assert.match(exported.headers['content-type'] as string, /^text\/csv/);
      assert.match(exported.body, /^bulk\.ids\.one,.*,IT$/m);
      assert.match(exported.body, /^bulk\.ids\.two,.*,Sales$/m);
    }
    // A job is found only under its own source, by either of its names.
    assert.equal((await get(`${base(other.sourceId)}/non-employee-bulk-upload/jobs/${jobId}`)).statusCode, 404);
    assert.equal((await get(`${base(other.id)}/non-employee-bulk-upload/jobs/${jobId}`)).statusCode, 404);

    const imported = await get(`${records}?filters=${encodeURIComponent(`sourceId eq "${bulkSource.id}"`)}&sorters=accountName`);
    assert.equal(imported.statusCode, 200, imported.body);
    const list = imported.json() as { id: string; accountName: string; sourceId: string }[];
    assert.deepEqual(
      list.map((r) => [r.accountName, r.sourceId]),
      [
        ['bulk.ids.one', bulkSource.id],
        ['bulk.ids.two', bulkSource.id],
      ],
    );
    for (const record of list) assert.match(record.id, UUID7, record.accountName);
  });
});
