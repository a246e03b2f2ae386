/** JSON Patch (RFC 6902) as the three PATCH operations apply it: ops, pointers, atomicity, guards. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatch, type PatchOperation } from '../../src/domain/json-patch.js';
import { ApiError, DetailCode } from '../../src/errors/api-error.js';

type Doc = Record<string, unknown>;
const ALL = ['name', 'description', 'approvers', 'accountManagers', 'a/b', 'm~n', 'nested', 'flag', 'count'];

const base = (): Doc => ({
  name: 'Contractors',
  description: 'desc',
  approvers: [{ id: 'a1' }, { id: 'a2' }],
  accountManagers: ['m1'],
  'a/b': 'slash',
  'm~n': 'tilde',
  nested: { deep: { x: 1 }, list: [1, 2, 3] },
  flag: true,
  count: 3,
});

const apply = (ops: PatchOperation[], doc: Doc = base(), writable = ALL) => applyPatch(doc, ops, writable);

/** Asserts that the patch fails with a 400 whose causes mention `pattern`; returns the causes. */
function rejects(ops: PatchOperation[], pattern: RegExp, doc: Doc = base(), writable = ALL): { field?: string; text: string }[] {
  try {
    applyPatch(doc, ops, writable);
  } catch (error) {
    assert.ok(error instanceof ApiError, `not an ApiError: ${String(error)}`);
    assert.equal(error.status, 400);
    assert.equal(error.detailCode, DetailCode.badRequest);
    const texts = error.causes.map((c) => c.text).join(' | ');
    assert.match(texts, pattern);
    return [...error.causes];
  }
  assert.fail(`expected ${JSON.stringify(ops)} to be refused`);
}

describe('applyPatch: operations', () => {
  test('replace a top-level field, a nested one, an array element', () => {
    const out = apply([
      { op: 'replace', path: '/name', value: 'New' },
      { op: 'replace', path: '/nested/deep/x', value: 2 },
      { op: 'replace', path: '/approvers/1', value: { id: 'a9' } },
      { op: 'replace', path: '/flag', value: false },
    ]);
    assert.equal(out.name, 'New');
    assert.deepEqual(out.nested, { deep: { x: 2 }, list: [1, 2, 3] });
    assert.deepEqual(out.approvers, [{ id: 'a1' }, { id: 'a9' }]);
    assert.equal(out.flag, false);
  });

  test('replace with null and with a whole array', () => {
    const out = apply([
      { op: 'replace', path: '/description', value: null },
      { op: 'replace', path: '/approvers', value: ['x', 'y'] },
    ]);
    assert.equal(out.description, null);
    assert.deepEqual(out.approvers, ['x', 'y']);
  });

  test('replace of a missing field or an out-of-range index fails', () => {
    rejects([{ op: 'replace', path: '/nested/nope', value: 1 }], /does not exist/);
    rejects([{ op: 'replace', path: '/approvers/2', value: 'x' }], /out of bounds/);
    rejects([{ op: 'replace', path: '/approvers/-', value: 'x' }], /invalid array index/);
    rejects([{ op: 'replace', path: '/name', value: 'x' }], /does not exist/, { other: 1 });
  });

  test('add: a new key, over an existing key, into an array at an index, at the end, with -', () => {
    const out = apply([
      { op: 'add', path: '/nested/fresh', value: 'v' },
      { op: 'add', path: '/name', value: 'Replaced' },
      { op: 'add', path: '/approvers/0', value: { id: 'first' } },
      { op: 'add', path: '/approvers/3', value: { id: 'end' } },
      { op: 'add', path: '/accountManagers/-', value: 'm2' },
      { op: 'add', path: '/accountManagers/-', value: 'm3' },
    ]);
    assert.equal((out.nested as Doc).fresh, 'v');
    assert.equal(out.name, 'Replaced');
    assert.deepEqual(out.approvers, [{ id: 'first' }, { id: 'a1' }, { id: 'a2' }, { id: 'end' }]);
    assert.deepEqual(out.accountManagers, ['m1', 'm2', 'm3']);
  });

  test('add to a field that is not there yet creates it (first segment writable)', () => {
    const out = apply([{ op: 'add', path: '/description', value: 'd' }], { name: 'n' });
    assert.deepEqual(out, { name: 'n', description: 'd' });
  });

  test('add: bad indices and missing parents fail', () => {
    rejects([{ op: 'add', path: '/approvers/3', value: 'x' }], /out of bounds/);
    rejects([{ op: 'add', path: '/approvers/01', value: 'x' }], /invalid array index/);
    rejects([{ op: 'add', path: '/approvers/-1', value: 'x' }], /invalid array index/);
    rejects([{ op: 'add', path: '/approvers/x', value: 'x' }], /invalid array index/);
    rejects([{ op: 'add', path: '/nested/none/x', value: 1 }], /does not exist/);
    rejects([{ op: 'add', path: '/name/x', value: 1 }], /does not exist/);
  });

  test('remove: an object key, an array element (later ones shift), a missing one fails', () => {
    const out = apply([
      { op: 'remove', path: '/description' },
      { op: 'remove', path: '/approvers/0' },
      { op: 'remove', path: '/nested/list/1' },
    ]);
    assert.equal(Object.hasOwn(out, 'description'), false);
    assert.deepEqual(out.approvers, [{ id: 'a2' }]);
    assert.deepEqual((out.nested as Doc).list, [1, 3]);
    rejects([{ op: 'remove', path: '/nested/nope' }], /does not exist/);
    rejects([{ op: 'remove', path: '/approvers/2' }], /out of bounds/);
    rejects([{ op: 'remove', path: '/approvers/-' }], /invalid array index/);
  });

  test('move: between keys, within an array, into another array', () => {
    const out = apply([
      { op: 'move', from: '/description', path: '/name' },
      { op: 'move', from: '/approvers/0', path: '/approvers/-' },
      { op: 'move', from: '/nested/list/0', path: '/accountManagers/0' },
    ]);
    assert.equal(out.name, 'desc');
    assert.equal(Object.hasOwn(out, 'description'), false);
    assert.deepEqual(out.approvers, [{ id: 'a2' }, { id: 'a1' }]);
    assert.deepEqual(out.accountManagers, [1, 'm1']);
    assert.deepEqual((out.nested as Doc).list, [2, 3]);
    rejects([{ op: 'move', from: '/nested/none', path: '/name' }], /does not exist/);
  });

  test('copy: a deep copy, not an alias', () => {
    const out = apply([
      { op: 'copy', from: '/approvers/0', path: '/accountManagers/-' },
      { op: 'replace', path: '/approvers/0/id', value: 'changed' },
    ]);
    assert.deepEqual(out.accountManagers, ['m1', { id: 'a1' }]);
    assert.deepEqual(out.approvers, [{ id: 'changed' }, { id: 'a2' }]);
    rejects([{ op: 'copy', from: '/approvers/5', path: '/name' }], /out of bounds/);
  });

  test('test: passes on deep equality (key order ignored), fails otherwise naming the path', () => {
    const out = apply([
      { op: 'test', path: '/nested', value: { list: [1, 2, 3], deep: { x: 1 } } },
      { op: 'test', path: '/approvers/1/id', value: 'a2' },
      { op: 'test', path: '/flag', value: true },
      { op: 'replace', path: '/count', value: 4 },
    ]);
    assert.equal(out.count, 4);
    rejects([{ op: 'test', path: '/name', value: 'Other' }], /test failed at '\/name'/);
    rejects([{ op: 'test', path: '/count', value: '3' }], /test failed/);
    rejects([{ op: 'test', path: '/nested/list', value: { 0: 1, 1: 2, 2: 3 } }], /test failed/);
    rejects([{ op: 'test', path: '/nested/list', value: [1, 2] }], /test failed/);
    rejects([{ op: 'test', path: '/nested/none', value: 1 }], /does not exist/);
  });

  test('an empty patch returns an equal copy', () => {
    const doc = base();
    const out = apply([], doc);
    assert.deepEqual(out, doc);
    assert.notEqual(out, doc);
  });
});

describe('applyPatch: pointers', () => {
  test('~1 decodes to / and ~0 to ~ (and ~01 to ~1, not /)', () => {
    const out = apply([
      { op: 'replace', path: '/a~1b', value: 'S' },
      { op: 'replace', path: '/m~0n', value: 'T' },
    ]);
    assert.equal(out['a/b'], 'S');
    assert.equal(out['m~n'], 'T');
    const odd = apply([{ op: 'add', path: '/nested/~01', value: 'v' }]);
    assert.equal((odd.nested as Doc)['~1'], 'v');
    assert.equal(Object.hasOwn(odd.nested as Doc, '/'), false);
  });

  test('paths must start with / and name a field', () => {
    rejects([{ op: 'replace', path: 'name', value: 'x' }], /not patchable/);
    rejects([{ op: 'replace', path: '', value: 'x' }], /not patchable/);
    rejects([{ op: 'replace', path: '/', value: 'x' }], /not patchable/);
  });
});

describe('applyPatch: the writable whitelist', () => {
  const WRITABLE = ['name', 'description', 'approvers', 'accountManagers'];
  const doc = () => ({ id: 'x', name: 'n', description: 'd', approvers: [], accountManagers: [], created: 'c' });

  test('paths outside it are refused, naming the path and the patchable fields', () => {
    for (const path of ['/id', '/owner', '/created', '/modified', '/cloudExternalId', '/Name']) {
      const causes = rejects(
        [{ op: 'replace', path, value: 'x' }],
        new RegExp(`'${path}' is not patchable; patchable fields: name, description, approvers, accountManagers`),
        doc(),
        WRITABLE,
      );
      assert.equal(causes[0]!.field, 'operations[0].path');
    }
  });

  test('from is checked too, for move and copy', () => {
    const causes = rejects([{ op: 'copy', from: '/id', path: '/name' }], /operations\[0\]\.from '\/id' is not patchable/, doc(), WRITABLE);
    assert.equal(causes[0]!.field, 'operations[0].from');
    rejects([{ op: 'move', from: '/created', path: '/description' }], /from '\/created' is not patchable/, doc(), WRITABLE);
  });

  test('every bad operation is reported, one cause each, with its index', () => {
    const causes = rejects(
      [
        { op: 'replace', path: '/name', value: 'ok' },
        { op: 'replace', path: '/id', value: 'x' },
        { op: 'remove', path: '/owner' },
        { op: 'add', path: '/name' },
        { op: 'move', path: '/name' },
      ],
      /not patchable/,
      doc(),
      WRITABLE,
    );
    assert.deepEqual(
      causes.map((c) => c.field),
      ['operations[1].path', 'operations[2].path', 'operations[3].value', 'operations[4].from'],
    );
  });

  test('value is required for add, replace and test; from for move and copy', () => {
    rejects([{ op: 'add', path: '/name' }], /operations\[0\]\.value is required for add/, doc(), WRITABLE);
    rejects([{ op: 'replace', path: '/name' }], /value is required for replace/, doc(), WRITABLE);
    rejects([{ op: 'test', path: '/name' }], /value is required for test/, doc(), WRITABLE);
    rejects([{ op: 'copy', path: '/name' }], /from is required for copy/, doc(), WRITABLE);
    rejects([{ op: 'move', path: '/name' }], /from is required for move/, doc(), WRITABLE);
    // remove needs neither
    assert.equal(Object.hasOwn(applyPatch(doc(), [{ op: 'remove', path: '/description' }], WRITABLE), 'description'), false);
  });
});

describe('applyPatch: atomicity', () => {
  test('a failing later operation leaves the input unchanged and returns nothing', () => {
    const doc = base();
    const before = structuredClone(doc);
    rejects(
      [
        { op: 'replace', path: '/name', value: 'changed' },
        { op: 'add', path: '/approvers/-', value: { id: 'a3' } },
        { op: 'remove', path: '/nested/list/0' },
        { op: 'replace', path: '/nested/deep/x', value: 99 },
        { op: 'test', path: '/count', value: 1000 },
      ],
      /operations\[4\]: test failed/,
      doc,
    );
    assert.deepEqual(doc, before);
  });

  test('a successful patch does not mutate its input, nor alias values from the operations', () => {
    const doc = base();
    const before = structuredClone(doc);
    const value = { id: 'new' };
    const out = apply([{ op: 'add', path: '/approvers/-', value }], doc);
    assert.deepEqual(doc, before);
    value.id = 'mutated later';
    assert.deepEqual((out.approvers as unknown[])[2], { id: 'new' });
  });

  test('the failing operation is named by its index', () => {
    const causes = rejects(
      [
        { op: 'replace', path: '/name', value: 'a' },
        { op: 'remove', path: '/approvers/7' },
      ],
      /operations\[1\]: path '\/approvers\/7' is out of bounds/,
    );
    assert.equal(causes[0]!.field, 'operations[1]');
  });
});

describe('applyPatch: prototype pollution', () => {
  const probe = () => (({}) as Record<string, unknown>).polluted;

  test('__proto__, constructor and prototype as the last segment are refused', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      rejects([{ op: 'add', path: `/nested/${key}`, value: { polluted: 'yes' } }], /not allowed/);
      rejects([{ op: 'replace', path: `/nested/${key}`, value: { polluted: 'yes' } }], /not allowed|does not exist/);
    }
    assert.equal(probe(), undefined);
  });

  test('__proto__ as the first segment is not writable even if listed', () => {
    rejects([{ op: 'add', path: '/__proto__', value: { polluted: 'yes' } }], /not allowed/, {}, ['__proto__']);
    assert.equal(probe(), undefined);
  });

  test('__proto__ or constructor in the middle of a path cannot reach Object.prototype', () => {
    const attempts: PatchOperation[][] = [
      [{ op: 'add', path: '/nested/__proto__/polluted', value: 'yes' }],
      [{ op: 'add', path: '/approvers/0/__proto__/polluted', value: 'yes' }],
      [{ op: 'replace', path: '/nested/__proto__/polluted', value: 'yes' }],
      [{ op: 'add', path: '/nested/constructor/prototype/polluted', value: 'yes' }],
      [{ op: 'copy', from: '/name', path: '/nested/__proto__/polluted' }],
      [{ op: 'move', from: '/name', path: '/nested/__proto__/polluted' }],
    ];
    for (const ops of attempts) {
      try {
        applyPatch(base(), ops, ALL);
      } catch (error) {
        assert.ok(error instanceof ApiError && error.status === 400, String(error));
      }
      assert.equal(probe(), undefined, `Object.prototype polluted by ${JSON.stringify(ops)}`);
      assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
    }
    // And they are refused, not silently ignored.
    rejects([{ op: 'add', path: '/nested/__proto__/polluted', value: 'yes' }], /not allowed|does not exist/);
  });

  test('inherited names (toString, hasOwnProperty) are not fields', () => {
    rejects([{ op: 'replace', path: '/nested/toString', value: 'x' }], /does not exist/);
    rejects([{ op: 'remove', path: '/nested/hasOwnProperty' }], /does not exist/);
    rejects([{ op: 'add', path: '/nested/toString/x', value: 1 }], /does not exist/);
    rejects([{ op: 'test', path: '/nested/valueOf', value: {} }], /does not exist/);
    // Adding an own key of that name is fine: it shadows nothing outside the copy.
    const out = apply([{ op: 'add', path: '/nested/toString', value: 'own' }]);
    assert.equal((out.nested as Doc).toString, 'own');
    assert.equal(typeof ({} as Doc).toString, 'function');
  });

  test('reading through __proto__ finds nothing (copy, test)', () => {
    rejects([{ op: 'copy', from: '/nested/__proto__', path: '/name' }], /not allowed|does not exist/);
    rejects([{ op: 'test', path: '/nested/constructor', value: {} }], /not allowed|does not exist/);
  });
});
