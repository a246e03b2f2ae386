/**
 * PUT /v3/non-employee-sources/{sourceId}/schema-attributes-order (an extension): the custom
 * attributes in a new order, after the system ones, seen by the list, the template and the export;
 * each moved attribute's schema_attribute.updated names its position; bad orders are 400s naming
 * the entry; the update right is needed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { errorOf, harness, type Harness } from '../helpers/app.js';
import { addAttribute, createSource, identityId } from '../helpers/factories.js';

describe('schema attributes: their order', () => {
  let h: Harness;
  let sourceId: string;
  let ids: string[];
  const url = () => `/v3/non-employee-sources/${sourceId}/schema-attributes-order`;

  before(async () => {
    h = await harness();
    sourceId = await createSource(h, 'Ordered', await identityId(h, 'owner.one'));
    ids = [await addAttribute(h, sourceId, 'alpha'), await addAttribute(h, sourceId, 'beta'), await addAttribute(h, sourceId, 'gamma')];
  });
  after(async () => h.close());

  test('a new order is kept by the list, the template and the events', async () => {
    const answer = await h.request('PUT', url(), h.admin.token, { order: [ids[2], ids[0], ids[1]] });
    assert.equal(answer.statusCode, 200, answer.body);
    const names = (answer.json() as { technicalName: string; system: boolean }[]).map((a) => a.technicalName);
    assert.deepEqual(names.slice(8), ['gamma', 'alpha', 'beta']);
    assert.equal(names.length, 11);
    const listed = (await h.request('GET', `/v3/non-employee-sources/${sourceId}/schema-attributes`, h.admin.token)).json() as { technicalName: string }[];
    assert.deepEqual(
      listed.map((a) => a.technicalName),
      names,
    );
    const template = await h.request('GET', `/v3/non-employee-sources/${sourceId}/schema-attributes-template/download`, h.admin.token);
    assert.match(template.body.trim(), /,endDate,gamma,alpha,beta$/);
    const events = (
      await h.request(
        'GET',
        `/admin/v1/audit-events?filters=${encodeURIComponent(`type eq "schema_attribute.updated" and sourceId eq "${sourceId}"`)}`,
        h.admin.token,
      )
    ).json() as { target: { id: string }; data: { changes: Record<string, unknown> } }[];
    assert.equal(events.length, 3, 'each attribute moved');
    assert.ok(events.every((e) => Object.keys(e.data.changes).join() === 'position'));

    const again = await h.request('PUT', url(), h.admin.token, { order: [ids[2], ids[0], ids[1]] });
    assert.equal(again.statusCode, 200);
    const after = (
      await h.request(
        'GET',
        `/admin/v1/audit-events?filters=${encodeURIComponent(`type eq "schema_attribute.updated" and sourceId eq "${sourceId}"`)}`,
        h.admin.token,
      )
    ).json() as unknown[];
    assert.equal(after.length, 3, 'the same order moves nothing');
  });

  test('an unknown, repeated or missing attribute is a 400 naming it; the update right is needed; an unknown source is a 404', async () => {
    const listed = (await h.request('GET', `/v3/non-employee-sources/${sourceId}/schema-attributes`, h.admin.token)).json() as {
      id: string;
      system: boolean;
    }[];
    const system = listed.find((a) => a.system)!.id;
    const cases: [unknown, RegExp][] = [
      [{ order: [ids[0], ids[0], ids[1]] }, /order\[1\] .* is listed twice/],
      [{ order: [ids[0], ids[1], system] }, /order\[2\] .* is not a custom schema attribute/],
      [{ order: [ids[0], ids[1]] }, /missing: gamma/],
      [{ order: 'alpha' }, /order/],
      [{}, /order/],
    ];
    for (const [body, text] of cases) {
      const res = await h.request('PUT', url(), h.admin.token, body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.match(
        errorOf(res)
          .causes.map((c: { text: string }) => c.text)
          .join(' '),
        text,
        JSON.stringify(body),
      );
    }
    const reader = await h.caller('ola.reader', { rights: ['idn:nesr:read', 'idn:nesr:create'] });
    assert.equal((await h.request('PUT', url(), reader.token, { order: ids })).statusCode, 403);
    const missing = await h.request('PUT', `/v3/non-employee-sources/${'a'.repeat(32)}/schema-attributes-order`, h.admin.token, { order: [] });
    assert.equal(missing.statusCode, 404);
  });
});
