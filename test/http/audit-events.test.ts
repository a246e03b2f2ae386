/**
 * The audit trail through app.inject: source changes write their events in their transactions
 * (none when the change is refused), `GET /admin/v1/audit-events` with the standard collection
 * parameters, one event by id, the CSV export; org admins only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { transaction } from '../../src/db/dialect.js';
import { errorOf, harness, type Caller, type Harness } from '../helpers/app.js';
import { createSource, sourceBody } from '../helpers/factories.js';

const AUDIT = '/admin/v1/audit-events';
const PATCH = { 'content-type': 'application/json-patch+json' };
const q = (filters: string, more = '') => `${AUDIT}?filters=${encodeURIComponent(filters)}${more}`;

interface EventJson {
  id: string;
  seq: number;
  type: string;
  time: string;
  actor: { id: string; alias: string } | null;
  target: { type: string; id: string; sourceId: string | null };
  data: { object: Record<string, unknown>; changes?: Record<string, { old: unknown; new: unknown }> };
  prevHash: string;
  hash: string;
}

describe('audit events', () => {
  let h: Harness;
  let reader: Caller;
  let ownerId: string;
  const list = async (url: string): Promise<EventJson[]> => {
    const res = await h.request('GET', url, h.admin.token);
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  const eventCount = async () => (await list(AUDIT)).length;

  before(async () => {
    h = await harness();
    reader = await h.caller('reader', { rights: ['idn:nesr:read', 'idn:nesr:update', 'idn:nesr:delete'] });
    ownerId = reader.identity.id;
  });
  after(async () => h.close());

  test('source changes write source.created, source.updated with the changes, source.deleted, by their actors', async () => {
    const id = await createSource(h, 'Contractors', ownerId);
    const patched = await h.request('PATCH', `/v2024/non-employee-sources/${id}`, reader.token, [{ op: 'replace', path: '/name', value: 'Vendors' }], PATCH);
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal((await h.request('DELETE', `/v2024/non-employee-sources/${id}`, reader.token)).statusCode, 204);

    const events = await list(q(`targetId eq "${id}"`));
    assert.deepEqual(
      events.map((e) => [e.type, e.actor?.alias, e.target]),
      [
        ['source.created', 'admin', { type: 'source', id, sourceId: id }],
        ['source.updated', 'reader', { type: 'source', id, sourceId: id }],
        ['source.deleted', 'reader', { type: 'source', id, sourceId: id }],
      ],
    );
    const [created, updated, deleted] = events as [EventJson, EventJson, EventJson];
    assert.equal(created.data.object.name, 'Contractors');
    assert.equal(created.actor?.id, h.admin.identity.id);
    assert.deepEqual(updated.data.changes, { name: { old: 'Contractors', new: 'Vendors' } });
    assert.equal(updated.data.object.name, 'Vendors');
    assert.equal(deleted.data.object.name, 'Vendors', 'a deletion tells the object as it was');
    assert.equal(updated.prevHash, created.hash);
    assert.equal(deleted.seq, updated.seq + 1);
    assert.match(created.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    const one = await h.request('GET', `${AUDIT}/${updated.id}`, h.admin.token);
    assert.equal(one.statusCode, 200, one.body);
    assert.deepEqual(one.json(), updated);
  });

  test('a change that is refused writes no event', async () => {
    const id = await createSource(h, 'Refusals', ownerId);
    const before = await eventCount();
    // The 50-source limit: refused inside the create's transaction.
    await h.app.db.kysely.updateTable('tenants').set({ source_count: 50 }).where('id', '=', h.config.tenant).execute();
    const refused = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, sourceBody('One too many', ownerId));
    assert.equal(refused.statusCode, 400, refused.body);
    await h.app.db.kysely
      .updateTable('tenants')
      .set((eb) => ({ source_count: eb.selectFrom('sources').select((s) => s.fn.countAll<number>().as('n')) }))
      .where('id', '=', h.config.tenant)
      .execute();
    // A patch that fails validation, and a deletion of a source that is not there.
    const invalid = await h.request('PATCH', `/v2024/non-employee-sources/${id}`, reader.token, [{ op: 'replace', path: '/name', value: '' }], PATCH);
    assert.equal(invalid.statusCode, 400, invalid.body);
    const gone = await h.request('DELETE', '/v2024/non-employee-sources/0190a5c4-0000-7000-8000-000000000000', reader.token);
    assert.equal(gone.statusCode, 404, gone.body);
    // A change whose transaction fails after its events were appended.
    await assert.rejects(
      transaction(h.app.db.kysely, async (trx) => {
        await h.app.services.events.append(trx, h.config.tenant, [
          { type: 'source.updated', actor: null, target: { type: 'source', id }, data: { object: {} } },
        ]);
        throw new Error('rolled back');
      }),
    );
    assert.equal(await eventCount(), before);
    assert.equal((await h.app.services.events.verify(h.config.tenant)).ok, true);
  });

  test('parallel source creates keep the chain whole', async () => {
    const before = await eventCount();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => h.request('POST', '/v2024/non-employee-sources', h.admin.token, sourceBody(`Parallel ${i}`, ownerId))),
    );
    assert.deepEqual(
      results.map((r) => r.statusCode),
      Array(20).fill(200),
    );
    const verified = await h.app.services.events.verify(h.config.tenant);
    assert.equal(verified.ok && verified.count, before + 20);
    for (const r of results) await h.request('DELETE', `/v2024/non-employee-sources/${r.json().id}`, h.admin.token);
  });

  test('filters, sorters, paging and the total count', async () => {
    const all = await list(AUDIT);
    assert.ok(all.length >= 6);
    assert.deepEqual(
      all.map((e) => e.seq),
      all.map((e) => e.seq).sort((a, b) => a - b),
      'oldest first by default',
    );
    const newest = await list(`${AUDIT}?sorters=-time`);
    assert.deepEqual(
      newest.map((e) => e.seq),
      all.map((e) => e.seq).reverse(),
    );

    const counted = await h.request('GET', `${AUDIT}?limit=2&offset=1&count=true`, h.admin.token);
    assert.equal(counted.headers['x-total-count'], String(all.length));
    assert.deepEqual(
      counted.json().map((e: EventJson) => e.seq),
      all.slice(1, 3).map((e) => e.seq),
    );

    const types = (events: EventJson[]) => [...new Set(events.map((e) => e.type))].sort();
    assert.deepEqual(types(await list(q('type eq "source.deleted"'))), ['source.deleted']);
    assert.deepEqual(types(await list(q('type in ("source.created", "source.updated")'))), ['source.created', 'source.updated']);
    assert.deepEqual(types(await list(q('type sw "source."'))), ['source.created', 'source.deleted', 'source.updated']);
    const byReader = await list(q(`actorId eq "${reader.identity.id}"`));
    assert.ok(byReader.length >= 2 && byReader.every((e) => e.actor?.alias === 'reader'));
    assert.deepEqual(
      await list(q(`actorId in ("${reader.identity.id}", "${h.admin.identity.id}")`)),
      all.filter((e) => e.actor),
    );
    const target = all[0]!.target.id;
    assert.ok((await list(q(`sourceId eq "${target}"`))).every((e) => e.target.sourceId === target));
    assert.deepEqual(await list(q(`targetId in ("${target}")`)), await list(q(`targetId eq "${target}"`)));

    const middle = all[Math.floor(all.length / 2)]!.time;
    const from = await list(q(`time ge "${middle}"`));
    const until = await list(q(`time lt "${middle}"`));
    assert.equal(from.length + until.length, all.length);
    assert.ok(from.every((e) => e.time >= middle) && until.every((e) => e.time < middle));
    assert.deepEqual(await list(q(`time gt "${all.at(-1)!.time}"`)), []);
    assert.equal((await list(q('time le "2000-01-01"'))).length, 0);

    for (const [filters, text] of [
      ['hash eq "x"', "field 'hash' is not filterable"],
      ['actorId sw "a"', "operator 'sw' is not supported for field 'actorId'"],
      ['time gt "soon"', 'not an ISO 8601 date'],
    ]) {
      const res = await h.request('GET', q(filters!), h.admin.token);
      assert.equal(res.statusCode, 400, res.body);
      assert.match(errorOf(res).messages[0]!.text, new RegExp(text!));
    }
    const badSort = await h.request('GET', `${AUDIT}?sorters=type`, h.admin.token);
    assert.equal(badSort.statusCode, 400, badSort.body);
  });

  test('the CSV export: the filtered events, one a line, cells neutralised against formulas', async () => {
    const id = await createSource(h, 'Exported', ownerId);
    await transaction(h.app.db.kysely, (trx) =>
      h.app.services.events.append(trx, h.config.tenant, [
        { type: 'test.formula', actor: null, target: { type: '=HYPERLINK("x")', id }, data: { object: {} } },
      ]),
    );
    const res = await h.request('GET', q(`targetId eq "${id}"`, '').replace(AUDIT, `${AUDIT}/download`), h.admin.token);
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /^text\/csv/);
    const lines = res.body.trimEnd().split('\n');
    assert.equal(lines[0], 'id,seq,time,type,actorId,actorAlias,targetType,targetId,sourceId,data,hash');
    assert.equal(lines.length, 3);
    const [created] = await list(q(`targetId eq "${id}"`));
    assert.equal(
      lines[1],
      [
        created!.id,
        created!.seq,
        created!.time,
        'source.created',
        h.admin.identity.id,
        'admin',
        'source',
        id,
        id,
        `"${JSON.stringify(created!.data).replaceAll('"', '""')}"`,
        created!.hash,
      ].join(','),
    );
    assert.match(lines[2]!, /,test\.formula,,,"'=HYPERLINK\(""x""\)",/);

    const bad = await h.request('GET', `${AUDIT}/download?filters=${encodeURIComponent('nope eq 1')}`, h.admin.token);
    assert.equal(bad.statusCode, 400, bad.body);
  });

  test('org admins only: 401 without a token, 403 for others, 404 for an unknown id', async () => {
    assert.equal((await h.request('GET', AUDIT, undefined)).statusCode, 401);
    for (const url of [AUDIT, `${AUDIT}/download`, `${AUDIT}/0190a5c4-0000-7000-8000-000000000000`]) {
      const res = await h.request('GET', url, reader.token);
      assert.equal(res.statusCode, 403, res.body);
      assert.equal(errorOf(res).detailCode, '403 Forbidden');
    }
    const unknown = await h.request('GET', `${AUDIT}/0190a5c4-0000-7000-8000-000000000000`, h.admin.token);
    assert.equal(unknown.statusCode, 404, unknown.body);
    assert.equal(errorOf(unknown).detailCode, '404 Not found');
  });

  test('the served OpenAPI describes the audit routes', async () => {
    const doc = (await h.request('GET', '/openapi.json', undefined)).json();
    assert.ok(doc.paths['/admin/v1/audit-events'].get);
    assert.ok(doc.paths['/admin/v1/audit-events/{id}'].get);
    assert.ok(doc.paths['/admin/v1/audit-events/download'].get.responses['200'].content['text/csv']);
  });
});
