/**
 * Every example request body of SailPoint's documentation (test/fixtures/sailpoint-examples.json,
 * copied as published) through the API, its ids replaced by ids of objects made here: each is
 * accepted, or refused with a 400 whose cause is the documented reason (docs/api.md lists them).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { LightMyRequestResponse } from 'fastify';
import path from 'node:path';
import { type Caller, errorOf, harness, type Harness } from '../helpers/app.js';
import { assertMatchesContract } from '../helpers/contract.js';
import { addAttribute, createSourceJson, recordBody, type SourceJson } from '../helpers/factories.js';

interface Example {
  operation: string;
  from: string;
  body: unknown;
  expect: number;
  reason?: string;
}

const { examples } = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '..', 'fixtures', 'sailpoint-examples.json'), 'utf8')) as {
  examples: Example[];
};

/** What each refused example's first cause says. */
const CAUSES: Record<string, RegExp> = {
  createNonEmployeeSource: /^approvers\[1\]\.id [0-9a-f]{32} is listed twice$/,
  createNonEmployeeRecord: /^email "\[email protected\]" is not a valid email address$/,
  patchNonEmployeeRecord: /^endDate .* is before startDate/,
  patchNonEmployeeSchemaAttribute: /label/,
  patchNonEmployeeSource: /name/,
};

const PATCH = { 'content-type': 'application/json-patch+json' };

describe("SailPoint's documented examples", () => {
  let h: Harness;
  let approver: Caller;
  let records: SourceJson;
  let requests: SourceJson;
  let attributes: SourceJson;
  let ids: Record<string, string>;
  let recordId: string;
  const items: string[] = [];

  before(async () => {
    h = await harness();
    await h.caller('jane.doe');
    const owner = await h.caller('examples.owner');
    approver = await h.caller('examples.approver');
    const second = await h.caller('examples.second');
    records = await createSourceJson(h, 'Contractors', owner.identity.id, { approvers: [approver.identity.id] });
    requests = await createSourceJson(h, 'Requested', owner.identity.id, { approvers: [approver.identity.id] });
    // The attribute example is required: it goes to a source of its own, or the record examples would lack it.
    attributes = await createSourceJson(h, 'Attributes', owner.identity.id);
    for (const source of [records, requests]) await addAttribute(h, source.id, 'description');
    // The examples' ids, as the documents write them, and what stands for each here.
    ids = {
      '2c91808570313110017040b06f344ec9': owner.identity.id,
      '2c91809f703bb37a017040a2fe8748c7': approver.identity.id,
      '48b1f463c9e8427db5a5071bd81914b8': second.identity.id,
      '2c91808568c529c60168cca6f90c1313': records.sourceId,
    };
  });
  after(() => h.close());

  const substituted = (body: unknown, extra: Record<string, string> = {}): unknown =>
    JSON.parse(JSON.stringify(body), (_key, value: unknown) => (typeof value === 'string' ? ({ ...ids, ...extra }[value] ?? value) : value));

  /** Where and how each operation is called; some make what they act on first. */
  const calls: Record<string, (body: unknown) => Promise<LightMyRequestResponse>> = {
    createNonEmployeeSource: (body) => h.request('POST', '/v2024/non-employee-sources', h.admin.token, substituted(body)),
    createNonEmployeeSourceSchemaAttributes: (body) =>
      h.request('POST', `/v2024/non-employee-sources/${attributes.id}/schema-attributes`, h.admin.token, substituted(body)),
    createNonEmployeeRecord: async (body) => {
      const res = await h.request('POST', '/v2024/non-employee-records', h.admin.token, substituted(body));
      if (res.statusCode === 200) recordId = res.json().id;
      return res;
    },
    updateNonEmployeeRecord: (body) => h.request('PUT', `/v2024/non-employee-records/${recordId}`, h.admin.token, substituted(body)),
    patchNonEmployeeRecord: (body) => h.request('PATCH', `/v2024/non-employee-records/${recordId}`, h.admin.token, substituted(body), PATCH),
    createNonEmployeeRequest: async (body) => {
      // In a source of its own: approving it makes william.smith's record there.
      const res = await h.request(
        'POST',
        '/v2024/non-employee-requests',
        h.admin.token,
        substituted(body, { '2c91808568c529c60168cca6f90c1313': requests.sourceId }),
      );
      if (res.statusCode === 200) items.push(res.json().approvalItems[0].id);
      return res;
    },
    approveNonEmployeeRequest: (body) => h.request('POST', `/v2024/non-employee-approvals/${items[0]}/approve`, approver.token, substituted(body)),
    rejectNonEmployeeRequest: async (body) => {
      const filed = await h.request('POST', '/v2024/non-employee-requests', h.admin.token, recordBody(requests.id, 'examples.rejected'));
      assert.equal(filed.statusCode, 200, filed.body);
      return h.request('POST', `/v2024/non-employee-approvals/${filed.json().approvalItems[0].id}/reject`, approver.token, substituted(body));
    },
    patchNonEmployeeSchemaAttribute: async (body) => {
      const listed = (await h.request('GET', `/v2024/non-employee-sources/${attributes.id}/schema-attributes`, h.admin.token)).json();
      const custom = (listed as { id: string; system: boolean }[]).find((a) => !a.system)!;
      return h.request('PATCH', `/v2024/non-employee-sources/${attributes.id}/schema-attributes/${custom.id}`, h.admin.token, substituted(body), PATCH);
    },
    patchNonEmployeeSource: (body) => h.request('PATCH', `/v2024/non-employee-sources/${records.id}`, h.admin.token, substituted(body), PATCH),
    deleteNonEmployeeRecordsInBulk: async (body) => {
      const made = await Promise.all(
        ['examples.bulk.1', 'examples.bulk.2'].map((name) => h.request('POST', '/v2024/non-employee-records', h.admin.token, recordBody(records.id, name))),
      );
      const [first, second] = made.map((res) => res.json().id as string);
      return h.request(
        'POST',
        '/v2024/non-employee-records/bulk-delete',
        h.admin.token,
        substituted(body, { '2b838de9-db9b-abcf-e646-d4f274ad4238': first!, '2d838de9-db9b-abcf-e646-d4f274ad4238': second! }),
      );
    },
  };

  test('every example operation is one this test knows how to call', () => {
    for (const example of examples) assert.ok(calls[example.operation], example.operation);
    assert.ok(examples.length >= 12);
  });

  for (const [i, example] of examples.entries()) {
    test(`${example.from}: ${example.expect}${example.reason ? `, ${example.reason}` : ''}`, async () => {
      const res = await calls[example.operation]!(example.body);
      assert.equal(res.statusCode, example.expect, `${example.operation} (example ${i}): ${res.body}`);
      if (example.expect === 400) {
        const error = errorOf(res);
        assert.match(error.causes[0]!.text, CAUSES[example.operation]!, res.body);
      }
    });
  }

  test('the record the example made reads back as the example wrote it, under the source the example named', async () => {
    const res = await h.request('GET', `/v2024/non-employee-records/${recordId}`, h.admin.token);
    assertMatchesContract('v2024', 'GET', '/non-employee-records/{id}', 200, res.json());
    const record = res.json();
    assert.equal(record.sourceId, records.id);
    assert.equal(record.startDate, '2020-03-24T00:00:00-05:00');
    assert.equal(record.endDate, '2021-03-25T00:00:00-05:00');
    assert.deepEqual(record.data, { description: 'Auditing' });
  });
});
