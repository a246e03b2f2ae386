/**
 * Non-employee sources through app.inject: the five operations,
 * member typing, validation, authorization, lists, the 50-source limit (and its race), flavours.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { errorOf, harness, type Caller, type Harness } from '../helpers/app.js';
import { createGroup, createSourceJson, identityId, type SourceJson, sourceBody } from '../helpers/factories.js';
import { assertMatchesContract } from '../helpers/contract.js';
import { otherSpelling, UUID7 } from '../helpers/ids.js';

type Flavour = 'v3' | 'beta' | 'v2024' | 'v2025' | 'v2026' | 'v1';
const FLAVOURS: Flavour[] = ['v3', 'beta', 'v2024', 'v2025', 'v2026', 'v1'];
const url = (flavour: Flavour, path = '') => (flavour === 'v1' ? `/non-employee-sources/v1${path}` : `/${flavour}/non-employee-sources${path}`);
const v = (path = '') => url('v2024', path);
const PATCH = { 'content-type': 'application/json-patch+json' };
const UNKNOWN = '0123456789abcdef0123456789abcdef';
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const SOURCE_KEYS = ['id', 'sourceId', 'name', 'description', 'approvers', 'accountManagers', 'modified', 'created'];

type SourceDto = SourceJson;

const dashed = (id: string) => `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`;
const texts = (res: LightMyRequestResponse) => errorOf(res).causes.map((c) => c.text);
const sorted = (keys: string[]) => [...keys].sort();

/** An identity that never calls the API: no API client, no token (cheaper than h.caller). */
async function sourceRows(h: Harness): Promise<number> {
  const row = await h.app.db.kysely
    .selectFrom('sources')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function sourceSlots(h: Harness): Promise<number> {
  const row = await h.app.db.kysely.selectFrom('tenants').select('source_count').where('id', '=', h.config.tenant).executeTakeFirstOrThrow();
  return Number(row.source_count);
}

function assertBadRequest(res: LightMyRequestResponse, detailCode = '400.1 Bad Request Content') {
  assert.equal(res.statusCode, 400, res.body);
  assert.equal(errorOf(res).detailCode, detailCode);
}

function assertForbidden(res: LightMyRequestResponse) {
  assert.equal(res.statusCode, 403, res.body);
  assert.equal(errorOf(res).detailCode, '403 Forbidden');
}

function assertNotFound(res: LightMyRequestResponse) {
  assert.equal(res.statusCode, 404, res.body);
  assert.equal(errorOf(res).detailCode, '404 Not found');
}

describe('sources: create, get, patch, delete', () => {
  let h: Harness;
  let owner: Caller;
  let alice: Caller;
  let bob: Caller;
  let carol: Caller;
  let groupMember: Caller;
  let stranger: Caller;
  let reader: Caller;
  let groupId: string;

  before(async () => {
    h = await harness();
    owner = await h.caller('owner');
    alice = await h.caller('alice');
    bob = await h.caller('bob');
    carol = await h.caller('carol');
    groupMember = await h.caller('group.member');
    stranger = await h.caller('stranger', { rights: ['idn:nesr:create', 'idn:nesr:update', 'idn:nesr:delete'] });
    reader = await h.caller('reader', { rights: ['idn:nesr:read'] });
    groupId = await createGroup(h, 'Approvers', [groupMember.identity.id]);
  });
  after(async () => h.close());

  describe('create', () => {
    test('200 with cloudExternalId; approvers and account managers typed by lookup, in order', async () => {
      const before = Date.now();
      const res = await h.request('POST', v(), h.admin.token, {
        name: 'Contractors',
        description: 'All contractors',
        owner: { id: owner.identity.id },
        managementWorkgroup: 'wg-1',
        approvers: [{ id: groupId }, { id: alice.identity.id }],
        accountManagers: [{ id: bob.identity.id }, { id: groupId }, { id: carol.identity.id }],
      });
      assert.equal(res.statusCode, 200, res.body);
      const source: SourceDto = res.json();
      assert.deepEqual(sorted(Object.keys(source)), sorted([...SOURCE_KEYS, 'cloudExternalId']));
      assert.match(source.id, UUID7);
      assert.match(source.sourceId, /^[0-9a-f]{32}$/);
      assert.notEqual(source.id, source.sourceId);
      assert.equal(source.name, 'Contractors');
      assert.equal(source.description, 'All contractors');
      assert.equal(typeof source.cloudExternalId, 'string');
      assert.ok(source.cloudExternalId!.length > 0);
      assert.deepEqual(source.approvers, [
        { type: 'GOVERNANCE_GROUP', id: groupId },
        { type: 'IDENTITY', id: alice.identity.id },
      ]);
      assert.deepEqual(source.accountManagers, [
        { type: 'IDENTITY', id: bob.identity.id },
        { type: 'GOVERNANCE_GROUP', id: groupId },
        { type: 'IDENTITY', id: carol.identity.id },
      ]);
      assert.match(source.created, ISO);
      assert.equal(source.modified, source.created);
      assert.ok(Date.parse(source.created) >= before - 1000 && Date.parse(source.created) <= Date.now() + 1000);

      // What the create answered is what a GET returns (minus cloudExternalId).
      const got = await h.request('GET', v(`/${source.id}`), h.admin.token);
      assert.equal(got.statusCode, 200);
      const { cloudExternalId: _, ...rest } = source;
      assert.deepEqual(got.json(), rest);
    });

    test('no approvers or account managers: empty arrays; two creates get distinct ids', async () => {
      const a = await h.request('POST', v(), h.admin.token, { name: 'Bare', description: '', owner: { id: owner.identity.id } });
      assert.equal(a.statusCode, 200, a.body);
      assert.deepEqual(a.json().approvers, []);
      assert.deepEqual(a.json().accountManagers, []);
      assert.equal(a.json().description, '');
      const b = await createSourceJson(h, 'Bare', owner.identity.id);
      assert.notEqual(b.id, a.json().id);
      assert.notEqual(b.sourceId, a.json().sourceId);
      assert.notEqual(b.cloudExternalId, a.json().cloudExternalId);
    });

    test('ids in dashed or upper-case form are stored in the canonical form', async () => {
      const source = await createSourceJson(h, 'Forms', dashed(owner.identity.id).toUpperCase(), {
        approvers: [dashed(alice.identity.id)],
        accountManagers: [groupId.toUpperCase()],
      });
      assert.deepEqual(source.approvers, [{ type: 'IDENTITY', id: alice.identity.id }]);
      assert.deepEqual(source.accountManagers, [{ type: 'GOVERNANCE_GROUP', id: groupId }]);
    });

    test('the owner must be an identity: a governance group or an unknown id → 400 naming owner.id', async () => {
      for (const id of [groupId, UNKNOWN]) {
        const res = await h.request('POST', v(), h.admin.token, sourceBody('Bad owner', id));
        assertBadRequest(res);
        const causes = texts(res);
        assert.equal(causes.length, 1, causes.join(' | '));
        assert.match(causes[0]!, /^owner\.id /);
        assert.match(causes[0]!, new RegExp(id));
      }
    });

    test('unknown ids → 400 with one cause per bad entry, naming the field and index', async () => {
      const ghost1 = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
      const ghost2 = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
      const ghost3 = 'cccccccccccccccccccccccccccccccc';
      const slotsBefore = await sourceSlots(h);
      const res = await h.request(
        'POST',
        v(),
        h.admin.token,
        sourceBody('Ghosts', owner.identity.id, { approvers: [alice.identity.id, ghost1, ghost2], accountManagers: [groupId, bob.identity.id, ghost3] }),
      );
      assertBadRequest(res);
      const causes = texts(res);
      assert.equal(causes.length, 3, causes.join(' | '));
      assert.match(causes[0]!, /^approvers\[1\]\.id .*aaaaaaaa/);
      assert.match(causes[1]!, /^approvers\[2\]\.id .*bbbbbbbb/);
      assert.match(causes[2]!, /^accountManagers\[2\]\.id .*cccccccc/);
      assert.equal(await sourceSlots(h), slotsBefore, 'a refused create takes no slot');
    });

    test('a bad owner and bad members are reported together', async () => {
      const res = await h.request('POST', v(), h.admin.token, sourceBody('All bad', UNKNOWN, { approvers: ['not-an-id'], accountManagers: [UNKNOWN] }));
      assertBadRequest(res);
      const causes = texts(res);
      assert.equal(causes.length, 3, causes.join(' | '));
      assert.ok(causes.some((t) => t.startsWith('owner.id')));
      assert.ok(causes.some((t) => t.startsWith('approvers[0].id')));
      assert.ok(causes.some((t) => t.startsWith('accountManagers[0].id')));
    });

    test('more than 3 approvers or more than 10 account managers → 400', async () => {
      const four = [alice, bob, carol, owner].map((c) => c.identity.id);
      const tooManyApprovers = await h.request('POST', v(), h.admin.token, sourceBody('Many', owner.identity.id, { approvers: four }));
      assertBadRequest(tooManyApprovers);
      assert.match(texts(tooManyApprovers).join(' | '), /approvers/);

      const managers: string[] = [];
      for (let i = 0; i < 11; i++) managers.push(await identityId(h, `mgr.${i}`));
      const tooManyManagers = await h.request('POST', v(), h.admin.token, sourceBody('Many', owner.identity.id, { accountManagers: managers }));
      assertBadRequest(tooManyManagers);
      assert.match(texts(tooManyManagers).join(' | '), /accountManagers/);

      // Exactly at the limits is fine.
      const full = await createSourceJson(h, 'Full', owner.identity.id, { approvers: four.slice(0, 3), accountManagers: managers.slice(0, 10) });
      assert.equal(full.approvers.length, 3);
      assert.equal(full.accountManagers.length, 10);
    });

    test('a member listed twice (in any id form) → 400 naming the second entry', async () => {
      const twice = await h.request(
        'POST',
        v(),
        h.admin.token,
        sourceBody('Twice', owner.identity.id, { approvers: [alice.identity.id, bob.identity.id, dashed(alice.identity.id)] }),
      );
      assertBadRequest(twice);
      const causes = texts(twice);
      assert.equal(causes.length, 1, causes.join(' | '));
      assert.match(causes[0]!, /^approvers\[2\]\.id /);

      const managersTwice = await h.request('POST', v(), h.admin.token, sourceBody('Twice', owner.identity.id, { accountManagers: [groupId, groupId] }));
      assertBadRequest(managersTwice);
      assert.match(texts(managersTwice)[0]!, /^accountManagers\[1\]\.id /);

      // The same identity as approver and account manager is not a duplicate.
      const both = await createSourceJson(h, 'Both roles', owner.identity.id, { approvers: [alice.identity.id], accountManagers: [alice.identity.id] });
      assert.equal(both.approvers[0]!.id, both.accountManagers[0]!.id);
    });

    test('schema violations → 400 naming the field', async () => {
      const cases: [unknown, RegExp][] = [
        [{ description: 'd', owner: { id: owner.identity.id } }, /name is required/],
        [{ name: '', description: 'd', owner: { id: owner.identity.id } }, /^name /],
        [{ name: 'n', description: 'd' }, /owner is required/],
        [{ name: 'n', description: 'd', owner: { id: owner.identity.id }, approvers: [{}] }, /approvers\[0\]\.id is required/],
        [{ name: 'n', description: 'd', owner: { id: owner.identity.id }, approvers: 'x' }, /^approvers /],
        [{ name: 'n'.repeat(129), description: 'd', owner: { id: owner.identity.id } }, /^name /],
      ];
      for (const [payload, pattern] of cases) {
        const res = await h.request('POST', v(), h.admin.token, payload);
        assertBadRequest(res);
        assert.ok(
          texts(res).some((t) => pattern.test(t)),
          `${JSON.stringify(payload).slice(0, 80)}: ${texts(res).join(' | ')}`,
        );
      }
    });

    test('only an org admin may create: others → 403, even with every right', async () => {
      const slotsBefore = await sourceSlots(h);
      const everything = await h.caller('every.right', { rights: ['idn:nesr:read', 'idn:nesr:create', 'idn:nesr:update', 'idn:nesr:delete'] });
      for (const caller of [everything, reader, owner]) {
        assertForbidden(await h.request('POST', v(), caller.token, sourceBody('Nope', owner.identity.id)));
      }
      assert.equal(await sourceSlots(h), slotsBefore);
      // Another org admin may.
      const admin2 = await h.caller('admin2', { admin: true });
      assert.equal((await h.request('POST', v(), admin2.token, sourceBody('By admin2', owner.identity.id))).statusCode, 200);
    });

    test('no token → 401', async () => {
      const res = await h.request('POST', v(), undefined, sourceBody('x', owner.identity.id));
      assert.equal(res.statusCode, 401);
    });
  });

  describe('get', () => {
    let source: SourceDto;
    let other: SourceDto;
    before(async () => {
      source = await createSourceJson(h, 'Readable', owner.identity.id, { approvers: [carol.identity.id], accountManagers: [alice.identity.id, groupId] });
      other = await createSourceJson(h, 'Other', owner.identity.id, { accountManagers: [bob.identity.id] });
    });

    test('200 with the v2024 NonEmployeeSource shape', async () => {
      const res = await h.request('GET', v(`/${source.id}`), h.admin.token);
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /application\/json/);
      const got: SourceDto = res.json();
      assert.deepEqual(sorted(Object.keys(got)), sorted(SOURCE_KEYS));
      assert.equal(got.id, source.id);
      assert.deepEqual(got.accountManagers, source.accountManagers);
    });

    test('unknown id → 404; malformed id → 400 naming sourceId', async () => {
      assertNotFound(await h.request('GET', v(`/${UNKNOWN}`), h.admin.token));
      for (const bad of ['not-an-id', '0123456789abcdef', `${source.id}00`, 'zz23456789abcdef0123456789abcdef']) {
        const res = await h.request('GET', v(`/${bad}`), h.admin.token);
        assertBadRequest(res);
        assert.match(texts(res)[0]!, /sourceId/);
      }
    });

    test('the other spelling and the upper-case form of a real id find it', async () => {
      for (const form of [otherSpelling(source.id), otherSpelling(source.id).toLowerCase(), source.id.toUpperCase()]) {
        const res = await h.request('GET', v(`/${form}`), h.admin.token);
        assert.equal(res.statusCode, 200, form);
        assert.equal(res.json().id, source.id);
      }
    });

    test('a direct account manager and one through a governance group may read it', async () => {
      for (const caller of [alice, groupMember]) {
        const res = await h.request('GET', v(`/${source.id}`), caller.token);
        assert.equal(res.statusCode, 200, `${caller.identity.alias}: ${res.body}`);
        assert.equal(res.json().id, source.id);
      }
      // …but not a source they do not manage.
      assertForbidden(await h.request('GET', v(`/${other.id}`), alice.token));
      assertForbidden(await h.request('GET', v(`/${other.id}`), groupMember.token));
    });

    test('an unrelated identity or an approver without idn:nesr:read → 403; the owner reads what it owns', async () => {
      for (const caller of [stranger, carol]) {
        assertForbidden(await h.request('GET', v(`/${source.id}`), caller.token));
      }
      const owned = await h.request('GET', v(`/${source.id}`), owner.token);
      assert.equal(owned.statusCode, 200, owned.body);
      const mine = await h.request('GET', v('?requested-for=me'), owner.token);
      assert.ok(
        mine.json().some((s: { id: string }) => s.id === source.id),
        'requested-for=me lists the sources it owns',
      );
    });

    test('a governance-group member loses access when removed from the group', async () => {
      const member = await h.caller('temp.member');
      const gid = await createGroup(h, 'Temp group', [member.identity.id]);
      const s = await createSourceJson(h, 'Via temp group', owner.identity.id, { accountManagers: [gid] });
      assert.equal((await h.request('GET', v(`/${s.id}`), member.token)).statusCode, 200);
      const patched = await h.request('PATCH', `/admin/v1/workgroups/${gid}`, h.admin.token, { members: [] });
      assert.equal(patched.statusCode, 200, patched.body);
      assertForbidden(await h.request('GET', v(`/${s.id}`), member.token));
    });

    test('idn:nesr:read may read any source', async () => {
      for (const id of [source.id, other.id]) {
        assert.equal((await h.request('GET', v(`/${id}`), reader.token)).statusCode, 200);
      }
    });
  });

  describe('patch', () => {
    let source: SourceDto;
    const patch = (id: string, ops: unknown, token = h.admin.token, flavour: Flavour = 'v2024') =>
      h.request('PATCH', url(flavour, `/${id}`), token, ops, PATCH);
    const current = async (id: string): Promise<SourceDto> => (await h.request('GET', v(`/${id}`), h.admin.token)).json();

    before(async () => {
      source = await createSourceJson(h, 'Patchable', owner.identity.id, { approvers: [alice.identity.id], accountManagers: [bob.identity.id] });
    });

    test('replace /name and /description (application/json-patch+json)', async () => {
      const res = await patch(source.id, [
        { op: 'replace', path: '/name', value: 'Renamed' },
        { op: 'replace', path: '/description', value: 'New description' },
      ]);
      assert.equal(res.statusCode, 200, res.body);
      const patched: SourceDto = res.json();
      assert.deepEqual(sorted(Object.keys(patched)), sorted(SOURCE_KEYS));
      assert.equal(patched.name, 'Renamed');
      assert.equal(patched.description, 'New description');
      assert.equal(patched.id, source.id);
      assert.equal(patched.sourceId, source.sourceId);
      assert.equal(patched.created, source.created);
      assert.ok(Date.parse(patched.modified) >= Date.parse(source.modified));
      assert.deepEqual(patched.approvers, source.approvers, 'untouched fields stay');
      assert.deepEqual(await current(source.id), patched);
    });

    test('replace /approvers with plain id strings (the spec example), typed by lookup', async () => {
      const res = await patch(source.id, [{ op: 'replace', path: '/approvers', value: [groupId, carol.identity.id] }]);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json().approvers, [
        { type: 'GOVERNANCE_GROUP', id: groupId },
        { type: 'IDENTITY', id: carol.identity.id },
      ]);
      assert.deepEqual((await current(source.id)).approvers, res.json().approvers);
    });

    test('replace /approvers with {id} objects', async () => {
      const res = await patch(source.id, [{ op: 'replace', path: '/approvers', value: [{ id: alice.identity.id }, { id: dashed(bob.identity.id) }] }]);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json().approvers, [
        { type: 'IDENTITY', id: alice.identity.id },
        { type: 'IDENTITY', id: bob.identity.id },
      ]);
    });

    test('add /accountManagers/- appends; remove takes an entry out', async () => {
      const added = await patch(source.id, [
        { op: 'add', path: '/accountManagers/-', value: groupId },
        { op: 'add', path: '/accountManagers/-', value: { id: carol.identity.id } },
      ]);
      assert.equal(added.statusCode, 200, added.body);
      assert.deepEqual(added.json().accountManagers, [
        { type: 'IDENTITY', id: bob.identity.id },
        { type: 'GOVERNANCE_GROUP', id: groupId },
        { type: 'IDENTITY', id: carol.identity.id },
      ]);
      // The new group account manager can now read the source.
      assert.equal((await h.request('GET', v(`/${source.id}`), groupMember.token)).statusCode, 200);

      const removed = await patch(source.id, [{ op: 'remove', path: '/accountManagers/0' }]);
      assert.equal(removed.statusCode, 200, removed.body);
      assert.deepEqual(removed.json().accountManagers, [
        { type: 'GOVERNANCE_GROUP', id: groupId },
        { type: 'IDENTITY', id: carol.identity.id },
      ]);
      assert.deepEqual((await current(source.id)).accountManagers, removed.json().accountManagers);
      assertForbidden(await h.request('GET', v(`/${source.id}`), bob.token));

      const emptied = await patch(source.id, [{ op: 'replace', path: '/accountManagers', value: [] }]);
      assert.equal(emptied.statusCode, 200, emptied.body);
      assert.deepEqual(emptied.json().accountManagers, []);
    });

    test('forbidden paths → 400 naming the path; nothing changes', async () => {
      const before = await current(source.id);
      for (const path of ['/id', '/owner', '/created', '/modified', '/sourceId', '/cloudExternalId', '/owner/id', '/nonEmployeeCount']) {
        const res = await patch(source.id, [
          { op: 'replace', path: '/name', value: 'Should not stick' },
          { op: 'replace', path, value: 'x' },
        ]);
        assertBadRequest(res);
        assert.ok(
          texts(res).some((t) => t.includes(`'${path}' is not patchable`)),
          `${path}: ${texts(res).join(' | ')}`,
        );
      }
      assert.deepEqual(await current(source.id), before);
    });

    test('an invalid result → 400 and nothing changes: 4 approvers, 11 managers, unknown or repeated ids, bad names', async () => {
      await patch(source.id, [{ op: 'replace', path: '/approvers', value: [alice.identity.id, bob.identity.id, carol.identity.id] }]);
      const before = await current(source.id);
      const cases: [unknown[], RegExp][] = [
        [[{ op: 'add', path: '/approvers/-', value: owner.identity.id }], /approvers must not have more than 3/],
        [[{ op: 'replace', path: '/accountManagers', value: Array.from({ length: 11 }, () => groupId) }], /accountManagers must not have more than 10/],
        [[{ op: 'replace', path: '/approvers/1', value: UNKNOWN }], /^approvers\[1\]\.id .*0123456789abcdef/],
        [[{ op: 'replace', path: '/approvers/2', value: alice.identity.id }], /^approvers\[2\]\.id .*twice/],
        [[{ op: 'replace', path: '/approvers', value: [42] }], /^approvers\[0\]/],
        [[{ op: 'replace', path: '/approvers', value: 'abc' }], /^approvers /],
        [[{ op: 'replace', path: '/name', value: '' }], /^name /],
        [[{ op: 'replace', path: '/name', value: 7 }], /^name /],
        [[{ op: 'remove', path: '/name' }], /^name /],
        [[{ op: 'replace', path: '/description', value: 'x'.repeat(2001) }], /^description /],
        [
          [
            { op: 'replace', path: '/name', value: 'Ok' },
            { op: 'test', path: '/name', value: 'Not ok' },
          ],
          /test failed/,
        ],
        [[{ op: 'replace', path: '/approvers/3', value: alice.identity.id }], /out of bounds/],
      ];
      for (const [ops, pattern] of cases) {
        const res = await patch(source.id, ops);
        assertBadRequest(res);
        assert.ok(
          texts(res).some((t) => pattern.test(t)),
          `${JSON.stringify(ops).slice(0, 100)}: ${texts(res).join(' | ')}`,
        );
      }
      assert.deepEqual(await current(source.id), before);
    });

    test('malformed patch bodies → 400', async () => {
      for (const payload of [
        { op: 'replace', path: '/name', value: 'x' },
        [{ op: 'frobnicate', path: '/name' }],
        [{ path: '/name', value: 'x' }],
        [{ op: 'replace', value: 'x' }],
      ]) {
        assertBadRequest(await patch(source.id, payload));
      }
      const broken = await h.request('PATCH', v(`/${source.id}`), h.admin.token, '[{"op": ', PATCH);
      assertBadRequest(broken);
    });

    test('a test op that holds lets the patch through; a plain application/json body works too', async () => {
      const name = (await current(source.id)).name;
      const res = await patch(source.id, [
        { op: 'test', path: '/name', value: name },
        { op: 'replace', path: '/name', value: 'Tested' },
      ]);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().name, 'Tested');
      const json = await h.request('PATCH', v(`/${source.id}`), h.admin.token, [{ op: 'replace', path: '/description', value: 'via json' }]);
      assert.equal(json.statusCode, 200, json.body);
      assert.equal(json.json().description, 'via json');
    });

    test('without idn:nesr:update → 403 (account managers, readers, deleters); with it → 200', async () => {
      const deleter = await h.caller('deleter.p', { rights: ['idn:nesr:read', 'idn:nesr:create', 'idn:nesr:delete'] });
      const manager = (await current(source.id)).accountManagers.find((m) => m.type === 'IDENTITY');
      const callers = [reader, deleter, owner, ...(manager ? [carol] : [])];
      for (const caller of callers) {
        assertForbidden(await patch(source.id, [{ op: 'replace', path: '/name', value: 'Hacked' }], caller.token));
      }
      assert.notEqual((await current(source.id)).name, 'Hacked');
      const updater = await h.caller('updater.p', { rights: ['idn:nesr:update'] });
      const ok = await patch(source.id, [{ op: 'replace', path: '/name', value: 'By updater' }], updater.token);
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().name, 'By updater');
    });

    test('concurrent patches are all applied: parallel add /accountManagers/- loses no one', async () => {
      const target = await createSourceJson(h, 'Concurrent', owner.identity.id);
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) ids.push(await identityId(h, `concurrent.${i}`));
      const responses = await Promise.all(ids.map((id) => patch(target.id, [{ op: 'add', path: '/accountManagers/-', value: id }])));
      for (const res of responses) assert.equal(res.statusCode, 200, res.body);
      const final = await current(target.id);
      assert.deepEqual(sorted(final.accountManagers.map((m) => m.id)), sorted(ids));
      // Each answer shows the source as that patch left it: one more manager each time.
      assert.deepEqual(
        responses.map((r) => r.json().accountManagers.length).sort((a: number, b: number) => a - b),
        [1, 2, 3, 4, 5, 6, 7, 8],
      );
      const modified = new Set(responses.map((r) => r.json().modified));
      assert.equal(modified.size, 8, 'every write has its own modified');
      // Past the limit of 10, a parallel patch is refused rather than written over another one.
      const more = await Promise.all([alice, bob, carol].map((c) => patch(target.id, [{ op: 'add', path: '/accountManagers/-', value: c.identity.id }])));
      assert.deepEqual(more.map((r) => r.statusCode).sort(), [200, 200, 400]);
      assert.equal((await current(target.id)).accountManagers.length, 10);
    });

    test('patches racing with the deletion of their source answer 200 or 404', async () => {
      const doomed = await createSourceJson(h, 'Doomed patch', owner.identity.id);
      const calls = Array.from({ length: 6 }, (_, i) => patch(doomed.id, [{ op: 'replace', path: '/name', value: `N${i}` }]));
      calls.splice(3, 0, h.request('DELETE', v(`/${doomed.id}`), h.admin.token));
      const responses = await Promise.all(calls);
      assert.equal(responses[3]!.statusCode, 204);
      for (const res of responses.filter((_, i) => i !== 3)) {
        if (res.statusCode !== 200) assertNotFound(res);
      }
      assertNotFound(await h.request('GET', v(`/${doomed.id}`), h.admin.token));
    });

    test('unknown source → 404; malformed id → 400', async () => {
      assertNotFound(await patch(UNKNOWN, [{ op: 'replace', path: '/name', value: 'x' }]));
      assertBadRequest(await patch('nope', [{ op: 'replace', path: '/name', value: 'x' }]));
    });

    test('the other spelling of the id and every flavour patch the same source', async () => {
      for (const flavour of FLAVOURS) {
        const res = await patch(otherSpelling(source.id), [{ op: 'replace', path: '/name', value: `Via ${flavour}` }], h.admin.token, flavour);
        assert.equal(res.statusCode, 200, `${flavour}: ${res.body}`);
        assert.equal(res.json().name, `Via ${flavour}`);
        assert.equal(res.json().id, source.id);
        assert.equal(Object.hasOwn(res.json(), 'nonEmployeeCount'), flavour === 'beta', flavour);
        assertMatchesContract(flavour, 'PATCH', '/non-employee-sources/{sourceId}', 200, res.json());
      }
    });
  });

  describe('delete', () => {
    test('204, then GET and DELETE → 404; its schema attributes and members are gone', async () => {
      const source = await createSourceJson(h, 'Doomed', owner.identity.id, { approvers: [alice.identity.id], accountManagers: [groupId] });
      const attr = await h.request('POST', v(`/${source.id}/schema-attributes`), h.admin.token, {
        type: 'TEXT',
        label: 'Cost center',
        technicalName: 'costCenter',
      });
      assert.equal(attr.statusCode, 200, attr.body);
      const slotsBefore = await sourceSlots(h);

      const res = await h.request('DELETE', v(`/${source.id}`), h.admin.token);
      assert.equal(res.statusCode, 204);
      assert.equal(res.body, '');
      assert.equal(await sourceSlots(h), slotsBefore - 1);

      assertNotFound(await h.request('GET', v(`/${source.id}`), h.admin.token));
      assertNotFound(await h.request('DELETE', v(`/${source.id}`), h.admin.token));
      assertNotFound(await h.request('GET', v(`/${source.id}/schema-attributes`), h.admin.token));
      assertNotFound(await h.request('GET', v(`/${source.id}/schema-attributes/${attr.json().id}`), h.admin.token));
      assert.equal(await sourceSlots(h), slotsBefore - 1, 'a second delete gives back no slot');

      const db = h.app.db.kysely;
      const attributes = await db.selectFrom('schema_attributes').select('id').where('source_id', '=', source.id).execute();
      assert.equal(attributes.length, 0);
      const members = await db.selectFrom('source_members').select('principal_id').where('source_id', '=', source.id).execute();
      assert.equal(members.length, 0);
      // The group account manager no longer sees it.
      const mine = await h.request('GET', v('?requested-for=me'), groupMember.token);
      assert.ok(!mine.json().some((s: SourceDto) => s.id === source.id));
    });

    test('the other spelling of the id works', async () => {
      const source = await createSourceJson(h, 'Dashed delete', owner.identity.id);
      assert.equal((await h.request('DELETE', v(`/${otherSpelling(source.id)}`), h.admin.token)).statusCode, 204);
      assertNotFound(await h.request('GET', v(`/${source.id}`), h.admin.token));
    });

    test('without idn:nesr:delete → 403 and the source stays; with it → 204', async () => {
      const source = await createSourceJson(h, 'Protected', owner.identity.id, { accountManagers: [alice.identity.id] });
      const updater = await h.caller('updater.d', { rights: ['idn:nesr:read', 'idn:nesr:create', 'idn:nesr:update'] });
      for (const caller of [updater, alice, owner, reader]) {
        assertForbidden(await h.request('DELETE', v(`/${source.id}`), caller.token));
      }
      assert.equal((await h.request('GET', v(`/${source.id}`), h.admin.token)).statusCode, 200);
      const deleter = await h.caller('deleter.d', { rights: ['idn:nesr:delete'] });
      assert.equal((await h.request('DELETE', v(`/${source.id}`), deleter.token)).statusCode, 204);
    });

    test('unknown → 404; malformed → 400', async () => {
      assertNotFound(await h.request('DELETE', v(`/${UNKNOWN}`), h.admin.token));
      assertBadRequest(await h.request('DELETE', v('/bad-id'), h.admin.token));
    });
  });

  describe('flavours', () => {
    test('create answers 200 with cloudExternalId under every flavour; beta adds nonEmployeeCount', async () => {
      for (const flavour of FLAVOURS) {
        const res = await h.request(
          'POST',
          url(flavour),
          h.admin.token,
          sourceBody(`Flavour ${flavour}`, owner.identity.id, { approvers: [alice.identity.id], accountManagers: [groupId] }),
        );
        assert.equal(res.statusCode, 200, `${flavour}: ${res.body}`);
        const created = res.json();
        assertMatchesContract(flavour, 'POST', '/non-employee-sources', 200, created);
        assert.equal(typeof created.cloudExternalId, 'string', flavour);
        assert.equal(created.name, `Flavour ${flavour}`);
        assert.deepEqual(created.accountManagers, [{ type: 'GOVERNANCE_GROUP', id: groupId }]);
        if (flavour === 'beta') {
          assert.deepEqual(sorted(Object.keys(created)), sorted([...SOURCE_KEYS, 'cloudExternalId', 'nonEmployeeCount']));
          assert.equal(created.nonEmployeeCount, null);
        } else {
          assert.deepEqual(sorted(Object.keys(created)), sorted([...SOURCE_KEYS, 'cloudExternalId']), flavour);
        }
      }
    });

    test('the same source reads the same under every prefix; only beta has nonEmployeeCount (null)', async () => {
      const source = await createSourceJson(h, 'Everywhere', owner.identity.id, { approvers: [carol.identity.id], accountManagers: [alice.identity.id] });
      const reference = (await h.request('GET', v(`/${source.id}`), h.admin.token)).json();
      assert.equal(Object.hasOwn(reference, 'nonEmployeeCount'), false);
      assert.equal(Object.hasOwn(reference, 'cloudExternalId'), false);
      for (const flavour of FLAVOURS) {
        const res = await h.request('GET', url(flavour, `/${source.id}`), alice.token);
        assert.equal(res.statusCode, 200, `${flavour}: ${res.body}`);
        const got = res.json();
        assertMatchesContract(flavour, 'GET', '/non-employee-sources/{sourceId}', 200, got);
        if (flavour === 'beta') {
          assert.ok(Object.hasOwn(got, 'nonEmployeeCount'), 'beta carries nonEmployeeCount');
          assert.equal(got.nonEmployeeCount, null);
          const { nonEmployeeCount: _, ...rest } = got;
          assert.deepEqual(rest, reference);
        } else {
          assert.deepEqual(got, reference, flavour);
        }
        const forbidden = await h.request('GET', url(flavour, `/${source.id}`), stranger.token);
        assertForbidden(forbidden);
        assertMatchesContract(flavour, 'GET', '/non-employee-sources/{sourceId}', 403, forbidden.json());
        const missing = await h.request('GET', url(flavour, `/${UNKNOWN}`), h.admin.token);
        assertNotFound(missing);
        assertMatchesContract(flavour, 'GET', '/non-employee-sources/{sourceId}', 404, missing.json());
      }
    });

    test('list and delete under every prefix', async () => {
      for (const flavour of FLAVOURS) {
        const source = await createSourceJson(h, `To delete ${flavour}`, owner.identity.id, { accountManagers: [carol.identity.id] });
        const list = await h.request('GET', url(flavour, '?requested-for=me'), carol.token);
        assert.equal(list.statusCode, 200, `${flavour}: ${list.body}`);
        assert.ok(
          list.json().some((s: SourceDto) => s.id === source.id),
          flavour,
        );
        assertMatchesContract(flavour, 'GET', '/non-employee-sources', 200, list.json());
        const counted = await h.request('GET', url(flavour, '?non-employee-count=true'), h.admin.token);
        assertMatchesContract(flavour, 'GET', '/non-employee-sources', 200, counted.json());
        assert.equal((await h.request('DELETE', url(flavour, `/${source.id}`), h.admin.token)).statusCode, 204, flavour);
        assertNotFound(await h.request('GET', url(flavour, `/${source.id}`), h.admin.token));
      }
    });
  });
});

describe('sources: list', () => {
  let h: Harness;
  let reader: Caller;
  let manager: Caller;
  let groupMember: Caller;
  let stranger: Caller;
  let groupId: string;
  const byName: Record<string, SourceDto> = {};
  const NAMES = ['Charlie', 'Alpha', 'Delta', 'Bravo'];
  const list = async (query: string, token = h.admin.token, flavour: Flavour = 'v2024') => {
    const res = await h.request('GET', url(flavour, query), token);
    assert.equal(res.statusCode, 200, `${query}: ${res.body}`);
    return { res, items: res.json() as SourceDto[] };
  };
  const names = (items: SourceDto[]) => items.map((s) => s.name);

  before(async () => {
    h = await harness();
    const owner = await h.caller('owner');
    reader = await h.caller('reader', { rights: ['idn:nesr:read'] });
    manager = await h.caller('manager');
    groupMember = await h.caller('member');
    stranger = await h.caller('stranger', { rights: ['idn:nesr:create', 'idn:nesr:update', 'idn:nesr:delete'] });
    groupId = await createGroup(h, 'Managers', [groupMember.identity.id]);
    const managers: Record<string, string[]> = { Alpha: [], Bravo: [manager.identity.id], Charlie: [groupId], Delta: [manager.identity.id, groupId] };
    for (const name of NAMES) {
      byName[name] = await createSourceJson(h, name, owner.identity.id, { approvers: [stranger.identity.id], accountManagers: managers[name] });
      await new Promise((r) => setTimeout(r, 3));
    }
    // Two records in Bravo, one in Delta, for nonEmployeeCount.
    const records: [string, string][] = [
      ['Bravo', 'b.one'],
      ['Bravo', 'b.two'],
      ['Delta', 'd.one'],
    ];
    for (const [name, accountName] of records) {
      const res = await h.request('POST', '/v2024/non-employee-records', h.admin.token, {
        accountName,
        firstName: 'First',
        lastName: 'Last',
        email: `${accountName}@example.com`,
        phone: '5125555555',
        manager: 'admin',
        sourceId: byName[name]!.id,
        startDate: '2020-03-24T00:00:00Z',
        endDate: '2030-03-25T00:00:00Z',
      });
      assert.equal(res.statusCode, 200, res.body);
    }
  });
  after(async () => h.close());

  test('idn:nesr:read lists every source, as NonEmployeeSourceWithNECount with a null count', async () => {
    const { items, res } = await list('?sorters=name', reader.token);
    assert.deepEqual(names(items), ['Alpha', 'Bravo', 'Charlie', 'Delta']);
    for (const item of items) {
      assert.deepEqual(sorted(Object.keys(item)), sorted([...SOURCE_KEYS, 'nonEmployeeCount']));
      assert.equal(item.nonEmployeeCount, null);
    }
    assert.deepEqual(items[1]!.accountManagers, [{ type: 'IDENTITY', id: manager.identity.id }]);
    assert.deepEqual(items[3]!.accountManagers, [
      { type: 'IDENTITY', id: manager.identity.id },
      { type: 'GOVERNANCE_GROUP', id: groupId },
    ]);
    assert.equal(res.headers['x-total-count'], undefined, 'no count unless asked');
  });

  test('requested-for=me: a direct account manager and one through a governance group', async () => {
    assert.deepEqual(names((await list('?requested-for=me&sorters=name', manager.token)).items), ['Bravo', 'Delta']);
    assert.deepEqual(names((await list('?requested-for=me&sorters=name', groupMember.token)).items), ['Charlie', 'Delta']);
    // An approver who manages nothing gets an empty list, not an error.
    assert.deepEqual((await list('?requested-for=me', stranger.token)).items, []);
    // The caller's own id works like me, without idn:nesr:read.
    assert.deepEqual(names((await list(`?requested-for=${manager.identity.id}&sorters=name`, manager.token)).items), ['Bravo', 'Delta']);
  });

  test("requested-for=<id> with idn:nesr:read lists that manager's sources (groups included)", async () => {
    assert.deepEqual(names((await list(`?requested-for=${manager.identity.id}&sorters=name`, reader.token)).items), ['Bravo', 'Delta']);
    assert.deepEqual(names((await list(`?requested-for=${dashed(groupMember.identity.id)}&sorters=name`, reader.token)).items), ['Charlie', 'Delta']);
    assert.deepEqual((await list(`?requested-for=${UNKNOWN}`, reader.token)).items, []);
    assert.deepEqual((await list(`?requested-for=${reader.identity.id}`, reader.token)).items, []);
  });

  test('requested-for=<another id> without idn:nesr:read → 403; no requested-for without it → 403', async () => {
    assertForbidden(await h.request('GET', v(`?requested-for=${groupMember.identity.id}`), manager.token));
    assertForbidden(await h.request('GET', v(`?requested-for=${manager.identity.id}`), stranger.token));
    for (const caller of [manager, groupMember, stranger]) {
      assertForbidden(await h.request('GET', v(), caller.token));
      assertForbidden(await h.request('GET', v('?requested-for='), caller.token));
    }
  });

  test('non-employee-count=true gives the record counts; otherwise null', async () => {
    const withCount = (await list('?non-employee-count=true&sorters=name', reader.token)).items;
    assert.deepEqual(
      withCount.map((s) => s.nonEmployeeCount),
      [0, 2, 0, 1],
    );
    const mine = (await list('?requested-for=me&non-employee-count=true&sorters=name', manager.token)).items;
    assert.deepEqual(
      mine.map((s) => [s.name, s.nonEmployeeCount]),
      [
        ['Bravo', 2],
        ['Delta', 1],
      ],
    );
    const explicitFalse = (await list('?non-employee-count=false', reader.token)).items;
    assert.ok(explicitFalse.every((s) => s.nonEmployeeCount === null));
    assertBadRequest(await h.request('GET', v('?non-employee-count=maybe'), reader.token));
  });

  test('beta lists leave nonEmployeeCount out unless asked for, then give numbers', async () => {
    const without = (await list('?sorters=name', reader.token, 'beta')).items;
    assert.ok(
      without.every((s) => !Object.hasOwn(s, 'nonEmployeeCount')),
      JSON.stringify(without[0]),
    );
    const withCount = (await list('?sorters=name&non-employee-count=true', reader.token, 'beta')).items;
    assert.deepEqual(
      withCount.map((s) => s.nonEmployeeCount),
      [0, 2, 0, 1],
    );
  });

  test('count=true sets X-Total-Count, ignoring limit and offset', async () => {
    assert.equal((await list('?count=true', reader.token)).res.headers['x-total-count'], '4');
    const paged = await list('?count=true&limit=1&offset=1', reader.token);
    assert.equal(paged.items.length, 1);
    assert.equal(paged.res.headers['x-total-count'], '4');
    assert.equal((await list('?count=true&requested-for=me', manager.token)).res.headers['x-total-count'], '2');
    assert.equal((await list('?count=true&requested-for=me', stranger.token)).res.headers['x-total-count'], '0');
    assert.equal((await list('?count=false', reader.token)).res.headers['x-total-count'], undefined);
  });

  test('limit and offset page through the sorted list', async () => {
    assert.deepEqual(names((await list('?sorters=name&limit=2')).items), ['Alpha', 'Bravo']);
    assert.deepEqual(names((await list('?sorters=name&limit=2&offset=1')).items), ['Bravo', 'Charlie']);
    assert.deepEqual(names((await list('?sorters=name&limit=2&offset=2')).items), ['Charlie', 'Delta']);
    assert.deepEqual(names((await list('?sorters=name&offset=3')).items), ['Delta']);
    assert.deepEqual((await list('?sorters=name&offset=4')).items, []);
    assert.deepEqual((await list('?sorters=name&offset=1000')).items, []);
    assert.deepEqual((await list('?limit=0')).items, []);
    assert.deepEqual((await list('?limit=0&count=true')).res.headers['x-total-count'], '4');
    assert.equal((await list('?limit=250')).items.length, 4);
    assert.deepEqual(names((await list('?requested-for=me&sorters=-name&limit=1&offset=1', groupMember.token)).items), ['Charlie']);
  });

  test('sorters name, -name, created, -created, sourceId, -sourceId, and combinations', async () => {
    assert.deepEqual(names((await list('?sorters=name')).items), ['Alpha', 'Bravo', 'Charlie', 'Delta']);
    assert.deepEqual(names((await list('?sorters=-name')).items), ['Delta', 'Charlie', 'Bravo', 'Alpha']);
    // Created in the order Charlie, Alpha, Delta, Bravo (a few ms apart).
    const all = Object.values(byName);
    const byCreated = [...all].sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
    assert.deepEqual(
      byCreated.map((s) => s.name),
      NAMES,
    );
    assert.deepEqual(names((await list('?sorters=created')).items), NAMES);
    assert.deepEqual(names((await list('?sorters=-created')).items), [...NAMES].reverse());
    const bySourceId = [...all].sort((a, b) => (a.sourceId < b.sourceId ? -1 : 1)).map((s) => s.name);
    assert.deepEqual(names((await list('?sorters=sourceId')).items), bySourceId);
    assert.deepEqual(names((await list('?sorters=-sourceId')).items), [...bySourceId].reverse());
    assert.deepEqual(names((await list('?sorters=-created,name')).items), [...NAMES].reverse());
    assert.deepEqual(names((await list('?sorters=%20name%20')).items), ['Alpha', 'Bravo', 'Charlie', 'Delta']);
  });

  test('unknown or malformed sorters → 400 naming them', async () => {
    for (const [query, pattern] of [
      ['?sorters=description', /'description' is not sortable/],
      ['?sorters=name,-modified', /'modified' is not sortable/],
      ['?sorters=id', /'id' is not sortable/],
      ['?sorters=Name', /'Name' is not sortable/],
      ['?sorters=name,,created', /empty sort field/],
      ['?sorters=name,-name', /'name' appears more than once/],
    ] as const) {
      const res = await h.request('GET', v(query), reader.token);
      assertBadRequest(res);
      assert.match(texts(res)[0]!, pattern, query);
    }
  });

  test('limit above 250, negative limit or offset, non-numbers → 400 naming the parameter', async () => {
    for (const [query, name] of [
      ['?limit=251', 'limit'],
      ['?limit=-1', 'limit'],
      ['?offset=-1', 'offset'],
      ['?limit=abc', 'limit'],
      ['?count=maybe', 'count'],
      // Whole numbers only in decimal digits, though JavaScript reads these as numbers.
      ['?limit=0x10', 'limit must be integer'],
      ['?limit=1e2', 'limit must be integer'],
      ['?limit=%2B5', 'limit must be integer'],
      ['?offset=%201', 'offset must be integer'],
      ['?limit=1.0', 'limit must be integer'],
    ] as const) {
      const res = await h.request('GET', v(query), reader.token);
      assertBadRequest(res);
      assert.ok(
        texts(res).some((t) => t.includes(name)),
        `${query}: ${texts(res).join(' | ')}`,
      );
    }
    for (const query of ['?limit=007', '?offset=0', '?limit=-0']) assert.equal((await h.request('GET', v(query), reader.token)).statusCode, 200, query);
  });

  test('every flavour lists the same sources', async () => {
    const reference = names((await list('?sorters=name')).items);
    for (const flavour of FLAVOURS) {
      assert.deepEqual(names((await list('?sorters=name', reader.token, flavour)).items), reference, flavour);
      assert.deepEqual(names((await list('?requested-for=me&sorters=name', manager.token, flavour)).items), ['Bravo', 'Delta'], flavour);
    }
  });
});

describe('sources: the 50-source limit', () => {
  let h: Harness;
  let ownerId: string;
  before(async () => {
    h = await harness();
    ownerId = await identityId(h, 'owner');
  });
  after(async () => h.close());

  test('60 parallel creates from a tenant with 45 sources: exactly 50 sources, the rest 400.1.4; a freed slot can be reused', async () => {
    for (let i = 0; i < 45; i++) await createSourceJson(h, `Seed ${i}`, ownerId);
    assert.equal(await sourceRows(h), 45);

    const responses = await Promise.all(Array.from({ length: 60 }, (_, i) => h.request('POST', v(), h.admin.token, sourceBody(`Race ${i}`, ownerId))));
    const ok = responses.filter((r) => r.statusCode === 200);
    const refused = responses.filter((r) => r.statusCode !== 200);
    assert.equal(ok.length, 5, responses.map((r) => r.statusCode).join(','));
    assert.equal(refused.length, 55);
    for (const res of refused) {
      assert.equal(res.statusCode, 400, res.body);
      const error = errorOf(res);
      assert.equal(error.detailCode, '400.1.4 Limit violation');
      assert.match(error.messages[0]!.text, /50/);
    }
    assert.equal(new Set(ok.map((r) => r.json().id)).size, 5);
    assert.equal(await sourceRows(h), 50);
    assert.equal(await sourceSlots(h), 50);
    // No refused create left anything behind.
    const attributes = await h.app.db.kysely
      .selectFrom('schema_attributes')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(attributes.n), 50 * 8);
    const listed = await h.request('GET', v('?count=true&limit=0'), h.admin.token);
    assert.equal(listed.headers['x-total-count'], '50');

    // The 51st is refused, under any flavour.
    for (const flavour of ['v2024', 'v1', 'beta'] as const) {
      const res = await h.request('POST', url(flavour), h.admin.token, sourceBody('One too many', ownerId));
      assertBadRequest(res, '400.1.4 Limit violation');
    }

    // Deleting one frees its slot: the 50th can be created again, then no more.
    const victim = ok[0]!.json().id;
    assert.equal((await h.request('DELETE', v(`/${victim}`), h.admin.token)).statusCode, 204);
    assert.equal(await sourceSlots(h), 49);
    assert.equal((await h.request('POST', v(), h.admin.token, sourceBody('Fiftieth again', ownerId))).statusCode, 200);
    assertBadRequest(await h.request('POST', v(), h.admin.token, sourceBody('Fifty-first', ownerId)), '400.1.4 Limit violation');
    assert.equal(await sourceRows(h), 50);
    assert.equal(await sourceSlots(h), 50);
  });

  test('a create refused for its content takes no slot, even at the limit', async () => {
    assertBadRequest(await h.request('POST', v(), h.admin.token, sourceBody('Bad', UNKNOWN)));
    assert.equal(await sourceSlots(h), 50);
  });
});
