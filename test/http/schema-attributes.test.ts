/**
 * Schema attributes through app.inject: the 8 system
 * attributes, custom ones (TEXT only, unique technical names, at most 10, also under a race),
 * get, patch, delete one and delete all custom, beta paging, rights and flavours.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { errorOf, harness, type Caller, type Harness } from '../helpers/app.js';
import { createSource } from '../helpers/factories.js';
import { assertMatchesContract } from '../helpers/contract.js';
import { otherSpelling, UUID7 } from '../helpers/ids.js';

type Flavour = 'v3' | 'beta' | 'v2024' | 'v2025' | 'v2026' | 'v1';
const FLAVOURS: Flavour[] = ['v3', 'beta', 'v2024', 'v2025', 'v2026', 'v1'];
const sourcesUrl = (flavour: Flavour, path = '') => (flavour === 'v1' ? `/non-employee-sources/v1${path}` : `/${flavour}/non-employee-sources${path}`);
const attrs = (sourceId: string, path = '', flavour: Flavour = 'v2024') => sourcesUrl(flavour, `/${sourceId}/schema-attributes${path}`);
const PATCH = { 'content-type': 'application/json-patch+json' };
const UNKNOWN = '0123456789abcdef0123456789abcdef';
const SYSTEM_NAMES = ['accountName', 'firstName', 'lastName', 'phone', 'email', 'manager', 'startDate', 'endDate'];
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

interface Attribute {
  id: string;
  system: boolean;
  modified: string;
  created: string;
  type: string;
  label: string;
  technicalName: string;
  helpText?: string | null;
  placeholder?: string | null;
  required: boolean;
}

const texts = (res: LightMyRequestResponse) => errorOf(res).causes.map((c) => c.text);
const allTexts = (res: LightMyRequestResponse) => {
  const e = errorOf(res);
  return [...e.messages, ...e.causes].map((m) => m.text).join(' | ');
};

function assertError(res: LightMyRequestResponse, status: number, detailCode: string) {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(errorOf(res).detailCode, detailCode);
}
const assertBadRequest = (res: LightMyRequestResponse, detailCode = '400.1 Bad Request Content') => assertError(res, 400, detailCode);
const assertForbidden = (res: LightMyRequestResponse) => assertError(res, 403, '403 Forbidden');
const assertNotFound = (res: LightMyRequestResponse) => assertError(res, 404, '404 Not found');

async function customCount(h: Harness, sourceId: string): Promise<number> {
  const row = await h.app.db.kysely.selectFrom('sources').select('custom_attribute_count').where('id', '=', sourceId).executeTakeFirstOrThrow();
  return Number(row.custom_attribute_count);
}

describe('schema attributes', () => {
  let h: Harness;
  let owner: Caller;
  let manager: Caller;
  let groupMember: Caller;
  let reader: Caller;
  let creator: Caller;
  let updater: Caller;
  let deleter: Caller;
  let stranger: Caller;
  let groupId: string;

  const list = async (sourceId: string, token = h.admin.token, flavour: Flavour = 'v2024', query = ''): Promise<Attribute[]> => {
    const res = await h.request('GET', attrs(sourceId, query, flavour), token);
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  const create = (sourceId: string, payload: Record<string, unknown>, token = h.admin.token, flavour: Flavour = 'v2024') =>
    h.request('POST', attrs(sourceId, '', flavour), token, payload);
  const createOk = async (sourceId: string, technicalName: string, over: Record<string, unknown> = {}): Promise<Attribute> => {
    const res = await create(sourceId, { type: 'TEXT', label: `Label ${technicalName}`, technicalName, ...over });
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  const patch = (sourceId: string, attributeId: string, ops: unknown, token = h.admin.token, flavour: Flavour = 'v2024') =>
    h.request('PATCH', attrs(sourceId, `/${attributeId}`, flavour), token, ops, PATCH);

  before(async () => {
    h = await harness();
    owner = await h.caller('owner');
    manager = await h.caller('manager');
    groupMember = await h.caller('group.member');
    reader = await h.caller('reader', { rights: ['idn:nesr:read'] });
    creator = await h.caller('creator', { rights: ['idn:nesr:create'] });
    updater = await h.caller('updater', { rights: ['idn:nesr:update'] });
    deleter = await h.caller('deleter', { rights: ['idn:nesr:delete'] });
    stranger = await h.caller('stranger');
    groupId = (await h.request('POST', '/admin/v1/workgroups', h.admin.token, { name: 'Managers', members: [groupMember.identity.id] })).json().id;
  });
  after(async () => h.close());

  describe('system attributes', () => {
    test('a new source lists exactly the 8 system attributes, in order, system: true', async () => {
      const sourceId = await createSource(h, 'Fresh', owner.identity.id);
      const items = await list(sourceId);
      assert.equal(items.length, 8);
      assert.deepEqual(
        items.map((a) => a.technicalName),
        SYSTEM_NAMES,
      );
      for (const a of items) {
        assert.equal(a.system, true, a.technicalName);
        assert.equal(a.required, true, a.technicalName);
        assert.match(a.id, UUID7);
        assert.ok(a.label.length > 0);
        assert.match(a.created, ISO);
        assert.match(a.modified, ISO);
        assert.ok(['TEXT', 'DATE', 'IDENTITY'].includes(a.type), a.type);
        for (const key of Object.keys(a)) {
          assert.ok(['id', 'system', 'modified', 'created', 'type', 'label', 'technicalName', 'helpText', 'placeholder', 'required'].includes(key), key);
        }
      }
      assert.equal(new Set(items.map((a) => a.id)).size, 8);
      assert.equal(items.find((a) => a.technicalName === 'startDate')!.type, 'DATE');
      assert.equal(items.find((a) => a.technicalName === 'endDate')!.type, 'DATE');
      // Each source gets its own attributes.
      const other = await list(await createSource(h, 'Fresh too', owner.identity.id));
      assert.equal(other.length, 8);
      assert.ok(other.every((a) => !items.some((b) => b.id === a.id)));
    });
  });

  describe('create', () => {
    let sourceId: string;
    before(async () => {
      sourceId = await createSource(h, 'Create', owner.identity.id);
    });

    test('200 with the attribute; listed after the system ones, in creation order', async () => {
      const res = await create(sourceId, {
        type: 'TEXT',
        label: 'Cost center',
        technicalName: 'costCenter',
        helpText: 'The cost center',
        placeholder: 'CC-000',
        required: true,
      });
      assert.equal(res.statusCode, 200, res.body);
      const a: Attribute = res.json();
      assert.match(a.id, UUID7);
      assert.deepEqual(
        { ...a, id: '', created: '', modified: '' },
        {
          id: '',
          system: false,
          created: '',
          modified: '',
          type: 'TEXT',
          label: 'Cost center',
          technicalName: 'costCenter',
          helpText: 'The cost center',
          placeholder: 'CC-000',
          required: true,
        },
      );
      assert.match(a.created, ISO);
      const minimal = await createOk(sourceId, 'account.name');
      assert.equal(minimal.required, false);
      assert.equal(minimal.system, false);
      assert.equal(Object.hasOwn(minimal, 'helpText'), false);
      assert.equal(Object.hasOwn(minimal, 'placeholder'), false);
      await createOk(sourceId, 'cost_center-2');

      const items = await list(sourceId);
      assert.deepEqual(
        items.map((x) => x.technicalName),
        [...SYSTEM_NAMES, 'costCenter', 'account.name', 'cost_center-2'],
      );
      assert.deepEqual(items[8], a);
      assert.equal(await customCount(h, sourceId), 3);
    });

    test('only TEXT: DATE, IDENTITY, PHONE, EMAIL, anything else → 400 naming type', async () => {
      for (const type of ['DATE', 'IDENTITY', 'PHONE', 'EMAIL', 'NUMBER', '']) {
        const res = await create(sourceId, { type, label: 'L', technicalName: `typed${type || 'Empty'}` });
        assert.equal(res.statusCode, 400, `${type}: ${res.body}`);
        assert.match(allTexts(res), /type/);
      }
      const nonString = await create(sourceId, { type: 5, label: 'L', technicalName: 'typedNumber' });
      assertBadRequest(nonString);
      assert.ok(!(await list(sourceId)).some((a) => a.technicalName.startsWith('typed')));
    });

    test('technicalName must match the pattern → 400 naming technicalName', async () => {
      for (const bad of ['1abc', '_abc', 'has space', '', 'a'.repeat(65), 'a/b', 'émile', 'a:b', '.dot']) {
        const res = await create(sourceId, { type: 'TEXT', label: 'L', technicalName: bad });
        assertBadRequest(res);
        assert.ok(
          texts(res).some((t) => t.startsWith('technicalName')),
          `${bad}: ${texts(res).join(' | ')}`,
        );
        // The pattern is said, not "is not a valid id" (that is for id fields).
        if (bad !== '' && bad.length <= 64)
          assert.ok(
            texts(res).some((t) => t.includes('does not match ^[A-Za-z]')),
            `${bad}: ${texts(res).join(' | ')}`,
          );
      }
      assert.equal((await create(sourceId, { type: 'TEXT', label: 'L', technicalName: 'a'.repeat(64) })).statusCode, 200);
    });

    test('other body violations → 400 naming the field', async () => {
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ label: 'L', technicalName: 'x1' }, /^type is required/],
        [{ type: 'TEXT', technicalName: 'x1' }, /^label is required/],
        [{ type: 'TEXT', label: 'L' }, /^technicalName is required/],
        [{ type: 'TEXT', label: '', technicalName: 'x1' }, /^label /],
        [{ type: 'TEXT', label: 'L', technicalName: 'x1', required: 'yes' }, /^required /],
        [{ type: 'TEXT', label: 'L', technicalName: 'x1', helpText: 'h'.repeat(1001) }, /^helpText /],
        [{ type: 'TEXT', label: 'L', technicalName: 'x1', placeholder: 7 }, /^placeholder /],
      ];
      for (const [payload, pattern] of cases) {
        const res = await create(sourceId, payload);
        assertBadRequest(res);
        assert.ok(
          texts(res).some((t) => pattern.test(t)),
          `${JSON.stringify(payload).slice(0, 80)}: ${texts(res).join(' | ')}`,
        );
      }
    });

    test('a duplicate technicalName, a system name included, in any case → 400.1.409; no slot is used', async () => {
      await createOk(sourceId, 'badge');
      const before = await customCount(h, sourceId);
      for (const name of ['badge', 'BADGE', 'email', 'Email', 'accountName', 'ENDDATE']) {
        const res = await create(sourceId, { type: 'TEXT', label: 'Again', technicalName: name });
        assertBadRequest(res, '400.1.409 Reference conflict');
        assert.match(allTexts(res), new RegExp(name));
      }
      assert.equal(await customCount(h, sourceId), before);
      // The same name in another source is fine.
      const other = await createSource(h, 'Other', owner.identity.id);
      await createOk(other, 'badge');
    });

    test('an 11th custom attribute → 400.1.4 Limit violation; 8 + 10 = 18 listed', async () => {
      const full = await createSource(h, 'Full', owner.identity.id);
      for (let i = 0; i < 10; i++) await createOk(full, `custom${i}`);
      const res = await create(full, { type: 'TEXT', label: 'Eleventh', technicalName: 'custom10' });
      assertBadRequest(res, '400.1.4 Limit violation');
      assert.match(allTexts(res), /10/);
      // Also when the name is a duplicate: the limit is checked first or the conflict is reported, never a 200.
      const dup = await create(full, { type: 'TEXT', label: 'Dup', technicalName: 'custom0' });
      assert.equal(dup.statusCode, 400);
      const items = await list(full);
      assert.equal(items.length, 18);
      assert.equal(items.filter((a) => a.system).length, 8);
      assert.equal(await customCount(h, full), 10);
    });

    test('15 parallel creates on a source with no custom attribute: exactly 10 succeed, 5 are limit violations', async () => {
      const race = await createSource(h, 'Race', owner.identity.id);
      const responses = await Promise.all(Array.from({ length: 15 }, (_, i) => create(race, { type: 'TEXT', label: `Race ${i}`, technicalName: `race${i}` })));
      const statuses = responses.map((r) => r.statusCode);
      assert.equal(statuses.filter((s) => s === 200).length, 10, statuses.join(','));
      const refused = responses.filter((r) => r.statusCode !== 200);
      assert.equal(refused.length, 5);
      for (const r of refused) assertBadRequest(r, '400.1.4 Limit violation');
      const items = await list(race);
      assert.equal(items.length, 18);
      assert.deepEqual(
        items.slice(0, 8).map((a) => a.technicalName),
        SYSTEM_NAMES,
      );
      assert.deepEqual(
        new Set(items.slice(8).map((a) => a.technicalName)),
        new Set(responses.filter((r) => r.statusCode === 200).map((r) => r.json().technicalName)),
      );
      assert.equal(await customCount(h, race), 10);
      const rows = await h.app.db.kysely.selectFrom('schema_attributes').select('position').where('source_id', '=', race).execute();
      assert.equal(new Set(rows.map((r) => Number(r.position))).size, 18, 'positions are distinct');
    });

    test('parallel creates of the same technicalName: one wins, the others conflict, one slot used', async () => {
      const dup = await createSource(h, 'Dup race', owner.identity.id);
      const responses = await Promise.all(Array.from({ length: 6 }, () => create(dup, { type: 'TEXT', label: 'Same', technicalName: 'same' })));
      assert.equal(responses.filter((r) => r.statusCode === 200).length, 1, responses.map((r) => r.statusCode).join(','));
      for (const r of responses.filter((x) => x.statusCode !== 200)) assertBadRequest(r, '400.1.409 Reference conflict');
      assert.equal(await customCount(h, dup), 1);
      assert.equal((await list(dup)).length, 9);
    });

    test('creates racing with the deletion of their source answer 200 or 404, never a limit violation', async () => {
      for (let round = 0; round < 3; round++) {
        const doomed = await createSource(h, `Doomed ${round}`, owner.identity.id);
        const calls = Array.from({ length: 6 }, (_, i) => create(doomed, { type: 'TEXT', label: 'L', technicalName: `d${i}` }));
        calls.splice(2, 0, h.request('DELETE', `/v2024/non-employee-sources/${doomed}`, h.admin.token));
        const responses = await Promise.all(calls);
        assert.equal(responses[2]!.statusCode, 204);
        for (const res of responses.filter((_, i) => i !== 2)) {
          if (res.statusCode !== 200) assertNotFound(res);
        }
        const left = await h.app.db.kysely.selectFrom('schema_attributes').select('id').where('source_id', '=', doomed).execute();
        assert.equal(left.length, 0);
      }
    });

    test('unknown source → 404; malformed source id → 400', async () => {
      assertNotFound(await create(UNKNOWN, { type: 'TEXT', label: 'L', technicalName: 'x' }));
      assertBadRequest(await create('nope', { type: 'TEXT', label: 'L', technicalName: 'x' }));
    });
  });

  describe('get', () => {
    let sourceId: string;
    let attribute: Attribute;
    before(async () => {
      sourceId = await createSource(h, 'Get', owner.identity.id, { accountManagers: [manager.identity.id, groupId] });
      attribute = await createOk(sourceId, 'department', { helpText: 'Dept' });
    });

    test('200 with the attribute; the other spelling of either id works', async () => {
      const res = await h.request('GET', attrs(sourceId, `/${attribute.id}`), h.admin.token);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), attribute);
      const dashedRes = await h.request('GET', attrs(otherSpelling(sourceId), `/${otherSpelling(attribute.id)}`), h.admin.token);
      assert.equal(dashedRes.statusCode, 200, dashedRes.body);
      assert.deepEqual(dashedRes.json(), attribute);
      const system = (await list(sourceId))[0]!;
      assert.deepEqual((await h.request('GET', attrs(sourceId, `/${system.id}`), h.admin.token)).json(), system);
    });

    test('unknown attribute, unknown source, or an attribute of another source → 404', async () => {
      assertNotFound(await h.request('GET', attrs(sourceId, `/${UNKNOWN}`), h.admin.token));
      assertNotFound(await h.request('GET', attrs(UNKNOWN, `/${attribute.id}`), h.admin.token));
      assertNotFound(await h.request('GET', attrs(UNKNOWN), h.admin.token));
      const other = await createSource(h, 'Get other', owner.identity.id);
      assertNotFound(await h.request('GET', attrs(other, `/${attribute.id}`), h.admin.token));
    });

    test('malformed ids → 400 naming the parameter', async () => {
      const badAttr = await h.request('GET', attrs(sourceId, '/not-an-id'), h.admin.token);
      assertBadRequest(badAttr);
      assert.match(texts(badAttr)[0]!, /attributeId/);
      const badSource = await h.request('GET', attrs('not-an-id', `/${attribute.id}`), h.admin.token);
      assertBadRequest(badSource);
      assert.match(texts(badSource)[0]!, /sourceId/);
    });
  });

  describe('patch', () => {
    let sourceId: string;
    let custom: Attribute;
    let system: Attribute[];
    before(async () => {
      sourceId = await createSource(h, 'Patch', owner.identity.id, { accountManagers: [manager.identity.id] });
      custom = await createOk(sourceId, 'location', { helpText: 'Where', placeholder: 'City' });
      system = (await list(sourceId)).filter((a) => a.system);
    });
    const get = async (id: string): Promise<Attribute> => (await h.request('GET', attrs(sourceId, `/${id}`), h.admin.token)).json();

    test('replace label, helpText, placeholder and required', async () => {
      const res = await patch(sourceId, custom.id, [
        { op: 'replace', path: '/label', value: 'Office location' },
        { op: 'replace', path: '/helpText', value: 'The office' },
        { op: 'replace', path: '/placeholder', value: 'Berlin' },
        { op: 'replace', path: '/required', value: true },
      ]);
      assert.equal(res.statusCode, 200, res.body);
      const patched: Attribute = res.json();
      assert.equal(patched.label, 'Office location');
      assert.equal(patched.helpText, 'The office');
      assert.equal(patched.placeholder, 'Berlin');
      assert.equal(patched.required, true);
      assert.equal(patched.id, custom.id);
      assert.equal(patched.technicalName, 'location');
      assert.equal(patched.type, 'TEXT');
      assert.equal(patched.system, false);
      assert.equal(patched.created, custom.created);
      assert.ok(Date.parse(patched.modified) >= Date.parse(custom.modified));
      assert.deepEqual(await get(custom.id), patched);
    });

    test('remove helpText and placeholder; add them back', async () => {
      const removed = await patch(sourceId, custom.id, [
        { op: 'remove', path: '/helpText' },
        { op: 'remove', path: '/placeholder' },
      ]);
      assert.equal(removed.statusCode, 200, removed.body);
      assert.equal(removed.json().helpText ?? null, null);
      assert.equal(removed.json().placeholder ?? null, null);
      const stored = await get(custom.id);
      assert.equal(stored.helpText ?? null, null);
      const added = await patch(sourceId, custom.id, [
        { op: 'add', path: '/helpText', value: 'Back' },
        { op: 'replace', path: '/placeholder', value: 'Here' },
      ]);
      assert.equal(added.statusCode, 200, added.body);
      assert.equal(added.json().helpText, 'Back');
      assert.equal(added.json().placeholder, 'Here');
    });

    test('forbidden paths → 400 naming the path; nothing changes', async () => {
      const before = await get(custom.id);
      for (const path of ['/technicalName', '/type', '/system', '/id', '/created', '/modified', '/sourceId']) {
        const res = await patch(sourceId, custom.id, [
          { op: 'replace', path: '/label', value: 'Not this' },
          { op: 'replace', path, value: path === '/system' ? true : 'x' },
        ]);
        assertBadRequest(res);
        assert.ok(
          texts(res).some((t) => t.includes(`'${path}' is not patchable`)),
          `${path}: ${texts(res).join(' | ')}`,
        );
      }
      assert.deepEqual(await get(custom.id), before);
    });

    test('invalid values → 400 naming the field; nothing changes', async () => {
      const before = await get(custom.id);
      const cases: [unknown[], RegExp][] = [
        [[{ op: 'replace', path: '/label', value: '' }], /^label /],
        [[{ op: 'replace', path: '/label', value: 5 }], /^label /],
        [[{ op: 'remove', path: '/label' }], /^label /],
        [[{ op: 'replace', path: '/label', value: 'l'.repeat(129) }], /^label /],
        [[{ op: 'replace', path: '/required', value: 'yes' }], /^required /],
        [[{ op: 'replace', path: '/helpText', value: 'h'.repeat(1001) }], /^helpText /],
        [[{ op: 'replace', path: '/placeholder', value: { a: 1 } }], /^placeholder /],
        [
          [
            { op: 'replace', path: '/label', value: 'ok' },
            { op: 'test', path: '/required', value: 'nope' },
          ],
          /test failed/,
        ],
      ];
      for (const [ops, pattern] of cases) {
        const res = await patch(sourceId, custom.id, ops);
        assertBadRequest(res);
        assert.ok(
          texts(res).some((t) => pattern.test(t)),
          `${JSON.stringify(ops)}: ${texts(res).join(' | ')}`,
        );
      }
      assert.deepEqual(await get(custom.id), before);
    });

    test('a system attribute: required cannot change; its label and help text can', async () => {
      const email = system.find((a) => a.technicalName === 'email')!;
      const res = await patch(sourceId, email.id, [{ op: 'replace', path: '/required', value: false }]);
      assertBadRequest(res, '400.1.3 Illegal update attempt');
      assert.match(allTexts(res), /required/);
      assert.equal((await get(email.id)).required, true);
      const same = await patch(sourceId, email.id, [{ op: 'replace', path: '/required', value: true }]);
      assert.equal(same.statusCode, 200, same.body);
      const relabel = await patch(sourceId, email.id, [
        { op: 'replace', path: '/label', value: 'E-mail address' },
        { op: 'replace', path: '/helpText', value: 'Work email' },
      ]);
      assert.equal(relabel.statusCode, 200, relabel.body);
      assert.equal(relabel.json().label, 'E-mail address');
      assert.equal(relabel.json().system, true);
      assert.equal(relabel.json().technicalName, 'email');
      const forbidden = await patch(sourceId, email.id, [{ op: 'replace', path: '/technicalName', value: 'mail' }]);
      assertBadRequest(forbidden);
      assert.deepEqual(
        (await list(sourceId)).slice(0, 8).map((a) => a.technicalName),
        SYSTEM_NAMES,
      );
    });

    test('concurrent patches of different fields are all applied', async () => {
      const target = await createOk(sourceId, 'concurrent');
      const values: Record<string, unknown> = { label: 'New label', helpText: 'Help', placeholder: 'Hint', required: true };
      for (let round = 0; round < 3; round++) {
        const responses = await Promise.all(
          Object.entries(values).map(([field, value]) => patch(sourceId, target.id, [{ op: 'add', path: `/${field}`, value }])),
        );
        for (const res of responses) assert.equal(res.statusCode, 200, res.body);
        const stored = await get(target.id);
        for (const [field, value] of Object.entries(values))
          assert.deepEqual((stored as unknown as Record<string, unknown>)[field], value, `${field} (round ${round})`);
        // Reset for the next round.
        const reset = await patch(sourceId, target.id, [
          { op: 'replace', path: '/label', value: 'L' },
          { op: 'remove', path: '/helpText' },
          { op: 'remove', path: '/placeholder' },
          { op: 'replace', path: '/required', value: false },
        ]);
        assert.equal(reset.statusCode, 200, reset.body);
      }
    });

    test('unknown attribute or source → 404; malformed body → 400', async () => {
      assertNotFound(await patch(sourceId, UNKNOWN, [{ op: 'replace', path: '/label', value: 'x' }]));
      assertNotFound(await patch(UNKNOWN, custom.id, [{ op: 'replace', path: '/label', value: 'x' }]));
      assertBadRequest(await patch(sourceId, custom.id, { op: 'replace', path: '/label', value: 'x' }));
      assertBadRequest(await patch(sourceId, custom.id, [{ op: 'nope', path: '/label', value: 'x' }]));
    });
  });

  describe('delete', () => {
    test('a system attribute cannot be deleted → 400.1.3', async () => {
      const sourceId = await createSource(h, 'Delete system', owner.identity.id);
      const items = await list(sourceId);
      for (const a of [items[0]!, items[7]!]) {
        const res = await h.request('DELETE', attrs(sourceId, `/${a.id}`), h.admin.token);
        assertBadRequest(res, '400.1.3 Illegal update attempt');
        assert.match(allTexts(res), new RegExp(a.technicalName));
      }
      assert.equal((await list(sourceId)).length, 8);
    });

    test('a custom one → 204, then 404; its slot is freed', async () => {
      const sourceId = await createSource(h, 'Delete custom', owner.identity.id);
      const created: Attribute[] = [];
      for (let i = 0; i < 10; i++) created.push(await createOk(sourceId, `c${i}`));
      assertBadRequest(await create(sourceId, { type: 'TEXT', label: 'L', technicalName: 'c10' }), '400.1.4 Limit violation');

      const victim = created[3]!;
      const res = await h.request('DELETE', attrs(sourceId, `/${victim.id}`), h.admin.token);
      assert.equal(res.statusCode, 204);
      assert.equal(res.body, '');
      assertNotFound(await h.request('GET', attrs(sourceId, `/${victim.id}`), h.admin.token));
      assertNotFound(await h.request('DELETE', attrs(sourceId, `/${victim.id}`), h.admin.token));
      assert.equal(await customCount(h, sourceId), 9);
      assert.ok(!(await list(sourceId)).some((a) => a.id === victim.id));

      // The freed slot, and the freed name, can be used again; then the limit holds again.
      const again = await createOk(sourceId, 'c3');
      assert.notEqual(again.id, victim.id);
      assertBadRequest(await create(sourceId, { type: 'TEXT', label: 'L', technicalName: 'c10' }), '400.1.4 Limit violation');
      const names = (await list(sourceId)).map((a) => a.technicalName);
      assert.deepEqual(names.slice(0, 8), SYSTEM_NAMES);
      assert.equal(names[names.length - 1], 'c3', 'a new attribute goes last');
    });

    test('unknown attribute, unknown source → 404; an attribute of another source is not deleted', async () => {
      const a = await createSource(h, 'Delete A', owner.identity.id);
      const b = await createSource(h, 'Delete B', owner.identity.id);
      const attr = await createOk(a, 'mine');
      assertNotFound(await h.request('DELETE', attrs(a, `/${UNKNOWN}`), h.admin.token));
      assertNotFound(await h.request('DELETE', attrs(UNKNOWN, `/${attr.id}`), h.admin.token));
      assertNotFound(await h.request('DELETE', attrs(b, `/${attr.id}`), h.admin.token));
      assert.equal((await h.request('GET', attrs(a, `/${attr.id}`), h.admin.token)).statusCode, 200);
      assertBadRequest(await h.request('DELETE', attrs(a, '/xyz'), h.admin.token));
    });

    test('a deleted attribute leaves no value in the source’s records', async () => {
      const sourceId = await createSource(h, 'Delete with records', owner.identity.id);
      await createOk(sourceId, 'costCenter');
      await createOk(sourceId, 'note');
      const record = await h.request('POST', '/v2024/non-employee-records', h.admin.token, {
        accountName: 'r.one',
        firstName: 'R',
        lastName: 'One',
        email: 'r.one@example.com',
        phone: '5125555555',
        manager: 'admin',
        sourceId,
        startDate: '2020-03-24T00:00:00Z',
        endDate: '2030-03-25T00:00:00Z',
        data: { costCenter: 'CC1', note: 'kept' },
      });
      assert.equal(record.statusCode, 200, record.body);
      const costCenter = (await list(sourceId)).find((a) => a.technicalName === 'costCenter')!;
      assert.equal((await h.request('DELETE', attrs(sourceId, `/${costCenter.id}`), h.admin.token)).statusCode, 204);
      const after = await h.request('GET', `/v2024/non-employee-records/${record.json().id}`, h.admin.token);
      assert.equal(after.statusCode, 200, after.body);
      assert.deepEqual(after.json().data, { note: 'kept' });
    });
  });

  describe('delete all custom', () => {
    test('204; only the custom ones go, the 8 system ones remain, all slots are freed', async () => {
      const sourceId = await createSource(h, 'Delete all', owner.identity.id);
      for (let i = 0; i < 4; i++) await createOk(sourceId, `x${i}`);
      const system = (await list(sourceId)).slice(0, 8);
      const res = await h.request('DELETE', attrs(sourceId), h.admin.token);
      assert.equal(res.statusCode, 204);
      assert.equal(res.body, '');
      const items = await list(sourceId);
      assert.deepEqual(items, system);
      assert.equal(await customCount(h, sourceId), 0);
      // Again, with nothing to delete: still 204.
      assert.equal((await h.request('DELETE', attrs(sourceId), h.admin.token)).statusCode, 204);
      // All 10 slots are free again.
      for (let i = 0; i < 10; i++) await createOk(sourceId, `y${i}`);
      assert.equal((await list(sourceId)).length, 18);
    });

    test('other sources keep their custom attributes', async () => {
      const a = await createSource(h, 'Delete all A', owner.identity.id);
      const b = await createSource(h, 'Delete all B', owner.identity.id);
      await createOk(a, 'keepA');
      await createOk(b, 'keepB');
      assert.equal((await h.request('DELETE', attrs(a), h.admin.token)).statusCode, 204);
      assert.equal((await list(a)).length, 8);
      assert.deepEqual(
        (await list(b)).map((x) => x.technicalName),
        [...SYSTEM_NAMES, 'keepB'],
      );
    });

    test('unknown source → 404; malformed → 400', async () => {
      assertNotFound(await h.request('DELETE', attrs(UNKNOWN), h.admin.token));
      assertBadRequest(await h.request('DELETE', attrs('bad'), h.admin.token));
    });
  });

  describe('beta paging', () => {
    let sourceId: string;
    before(async () => {
      sourceId = await createSource(h, 'Paging', owner.identity.id);
      await createOk(sourceId, 'p0');
      await createOk(sourceId, 'p1');
    });

    test('beta takes limit and offset over the ordered list', async () => {
      const names = async (query: string) => (await list(sourceId, h.admin.token, 'beta', query)).map((a) => a.technicalName);
      assert.deepEqual(await names('?limit=3'), ['accountName', 'firstName', 'lastName']);
      assert.deepEqual(await names('?limit=3&offset=3'), ['phone', 'email', 'manager']);
      assert.deepEqual(await names('?offset=7'), ['endDate', 'p0', 'p1']);
      assert.deepEqual(await names('?limit=2&offset=8'), ['p0', 'p1']);
      assert.deepEqual(await names('?offset=10'), []);
      assert.deepEqual(await names('?limit=0'), []);
      assert.deepEqual(await names(''), [...SYSTEM_NAMES, 'p0', 'p1']);
    });

    test('beta rejects a limit over 250 or negative values', async () => {
      for (const query of ['?limit=251', '?limit=-1', '?offset=-1', '?limit=x']) {
        const res = await h.request('GET', attrs(sourceId, query, 'beta'), h.admin.token);
        assertBadRequest(res);
        assert.match(texts(res).join(' | '), /limit|offset/);
      }
    });

    test('the other flavours list everything', async () => {
      for (const flavour of FLAVOURS.filter((f) => f !== 'beta')) {
        assert.equal((await list(sourceId, h.admin.token, flavour, '?limit=3&offset=1')).length, 10, flavour);
      }
    });
  });

  describe('rights', () => {
    let sourceId: string;
    let attribute: Attribute;
    before(async () => {
      sourceId = await createSource(h, 'Rights', owner.identity.id, { accountManagers: [manager.identity.id, groupId] });
      attribute = await createOk(sourceId, 'rights');
    });

    test('list and get: idn:nesr:read, the owner, or an account manager (directly or through a group)', async () => {
      for (const caller of [reader, owner, manager, groupMember]) {
        assert.equal((await list(sourceId, caller.token)).length, 9, caller.identity.alias);
        const res = await h.request('GET', attrs(sourceId, `/${attribute.id}`), caller.token);
        assert.equal(res.statusCode, 200, caller.identity.alias);
      }
      for (const caller of [stranger, creator, updater, deleter]) {
        assertForbidden(await h.request('GET', attrs(sourceId), caller.token));
        assertForbidden(await h.request('GET', attrs(sourceId, `/${attribute.id}`), caller.token));
      }
      // A manager of one source cannot read another's.
      const other = await createSource(h, 'Rights other', owner.identity.id);
      assertForbidden(await h.request('GET', attrs(other), manager.token));
      assertForbidden(await h.request('GET', attrs(other), groupMember.token));
    });

    test('create needs idn:nesr:create', async () => {
      for (const caller of [reader, manager, groupMember, owner, updater, deleter, stranger]) {
        assertForbidden(await create(sourceId, { type: 'TEXT', label: 'L', technicalName: `by${caller.identity.alias.replace('.', '')}` }, caller.token));
      }
      const res = await create(sourceId, { type: 'TEXT', label: 'L', technicalName: 'byCreator' }, creator.token);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal((await list(sourceId)).length, 10);
    });

    test('patch needs idn:nesr:update', async () => {
      for (const caller of [reader, manager, creator, deleter, owner, stranger]) {
        assertForbidden(await patch(sourceId, attribute.id, [{ op: 'replace', path: '/label', value: 'Hacked' }], caller.token));
      }
      const res = await patch(sourceId, attribute.id, [{ op: 'replace', path: '/label', value: 'By updater' }], updater.token);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().label, 'By updater');
    });

    test('delete one and delete all custom need idn:nesr:delete', async () => {
      const victim = await createOk(sourceId, 'victim');
      for (const caller of [reader, manager, creator, updater, owner, stranger]) {
        assertForbidden(await h.request('DELETE', attrs(sourceId, `/${victim.id}`), caller.token));
        assertForbidden(await h.request('DELETE', attrs(sourceId), caller.token));
      }
      assert.equal((await list(sourceId)).length, 11);
      assert.equal((await h.request('DELETE', attrs(sourceId, `/${victim.id}`), deleter.token)).statusCode, 204);
      assert.equal((await h.request('DELETE', attrs(sourceId), deleter.token)).statusCode, 204);
      assert.equal((await list(sourceId)).length, 8);
    });

    test('no token → 401', async () => {
      assert.equal((await h.request('GET', attrs(sourceId), undefined)).statusCode, 401);
    });
  });

  describe('flavours', () => {
    test('every operation under every prefix', async () => {
      const sourceId = await createSource(h, 'Flavours', owner.identity.id);
      for (const flavour of FLAVOURS) {
        const created = await create(sourceId, { type: 'TEXT', label: `In ${flavour}`, technicalName: `in${flavour}` }, h.admin.token, flavour);
        assert.equal(created.statusCode, 200, `${flavour}: ${created.body}`);
        const a: Attribute = created.json();
        assert.equal(a.technicalName, `in${flavour}`);
        assertMatchesContract(flavour, 'POST', '/non-employee-sources/{sourceId}/schema-attributes', 200, a);
        const listed = await list(sourceId, h.admin.token, flavour);
        assertMatchesContract(flavour, 'GET', '/non-employee-sources/{sourceId}/schema-attributes', 200, listed);
        assert.deepEqual(
          listed.slice(0, 8).map((x) => x.technicalName),
          SYSTEM_NAMES,
          flavour,
        );
        assert.ok(
          listed.some((x) => x.id === a.id),
          flavour,
        );
        const got = await h.request('GET', attrs(sourceId, `/${a.id}`, flavour), h.admin.token);
        assert.equal(got.statusCode, 200, flavour);
        assert.deepEqual(got.json(), a);
        assertMatchesContract(flavour, 'GET', '/non-employee-sources/{sourceId}/schema-attributes/{attributeId}', 200, got.json());
        const patched = await patch(sourceId, a.id, [{ op: 'replace', path: '/label', value: `Patched ${flavour}` }], h.admin.token, flavour);
        assert.equal(patched.statusCode, 200, `${flavour}: ${patched.body}`);
        assert.equal(patched.json().label, `Patched ${flavour}`);
        assertMatchesContract(flavour, 'PATCH', '/non-employee-sources/{sourceId}/schema-attributes/{attributeId}', 200, patched.json());
        const conflict = await create(sourceId, { type: 'TEXT', label: 'Dup', technicalName: 'email' }, h.admin.token, flavour);
        assertBadRequest(conflict, '400.1.409 Reference conflict');
        assertMatchesContract(flavour, 'POST', '/non-employee-sources/{sourceId}/schema-attributes', 400, conflict.json());
        assert.equal((await h.request('DELETE', attrs(sourceId, `/${a.id}`, flavour), h.admin.token)).statusCode, 204, flavour);
        assertNotFound(await h.request('GET', attrs(sourceId, `/${a.id}`, flavour), h.admin.token));
      }
      for (const flavour of FLAVOURS) {
        await createOk(sourceId, `all${flavour}`);
        assert.equal((await h.request('DELETE', attrs(sourceId, '', flavour), h.admin.token)).statusCode, 204, flavour);
        assert.equal((await list(sourceId)).length, 8, flavour);
      }
    });
  });
});
