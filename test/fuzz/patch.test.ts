/**
 * JSON Patch against forbidden paths, for every PATCH operation (source, schema attribute, record)
 * under every flavour: generated patches of 1 to 6 operations of which at least one touches a path
 * the operation does not allow (read-only and unknown fields, `__proto__`/`constructor`/
 * `prototype` at any depth, malformed pointers, `from` of a move or copy) are refused with a 400 in
 * the documented shape, the object reads back exactly as before, nothing is written anywhere, and
 * Object.prototype is untouched. Then the patch-size guards: operations per request, nesting depth
 * of a value, and a document that `copy` doubles at every step.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { harness, type Harness } from '../helpers/app.js';
import { PATCH_LIMITS } from '../../src/domain/json-patch.js';
import { assertDocumented, changeCounter, deepJson, errorDtoProblem, nastyJsonValue, params, seed, send, summary, type World } from './support.js';

const FLAVOURS = ['v3', 'beta', 'v2024', 'v2025', 'v2026', 'v1'] as const;
type Flavour = (typeof FLAVOURS)[number];

interface Target {
  name: string;
  url: (flavour: Flavour) => string;
  writable: string[];
  /** Fields a client reads but may not patch. */
  readOnly: string[];
  /** A valid value for each writable field, for the allowed operations around the forbidden one. */
  sample: Record<string, unknown>;
}

const escapePointer = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');

describe('fuzz: JSON Patch against forbidden paths', () => {
  let h: Harness;
  let w: World;
  let changes: () => Promise<number>;
  let targets: Target[];
  const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();

  before(async () => {
    h = await harness();
    w = await seed(h);
    changes = await changeCounter(h);
    const [systemAttribute] = w.attributeIds;
    const customAttribute = w.attributeIds[w.attributeIds.length - 1]!;
    const sources = (f: Flavour, rest = '') =>
      f === 'v1' ? `/non-employee-sources/v1/${w.sourceId}${rest}` : `/${f}/non-employee-sources/${w.sourceId}${rest}`;
    targets = [
      {
        name: 'source',
        url: (f) => sources(f),
        writable: ['name', 'description', 'approvers', 'accountManagers'],
        readOnly: ['id', 'sourceId', 'cloudExternalId', 'created', 'modified', 'nonEmployeeCount', 'owner', 'managementWorkgroup'],
        sample: { name: 'Fuzz source', description: 'seed', approvers: [{ id: w.approverId }], accountManagers: [{ id: w.userId }] },
      },
      ...[customAttribute, systemAttribute!].map((id) => ({
        name: id === customAttribute ? 'custom attribute' : 'system attribute',
        url: (f: Flavour) => sources(f, `/schema-attributes/${id}`),
        writable: ['label', 'helpText', 'placeholder', 'required'],
        readOnly: ['id', 'system', 'type', 'technicalName', 'created', 'modified', 'sourceId', 'position'],
        sample: { label: 'Label', helpText: 'help', placeholder: 'p' },
      })),
      {
        name: 'record',
        url: (f) => (f === 'v1' ? `/non-employee-records/v1/${w.recordIds[0]}` : `/${f}/non-employee-records/${w.recordIds[0]}`),
        writable: ['accountName', 'firstName', 'lastName', 'email', 'phone', 'manager', 'startDate', 'endDate', 'data'],
        readOnly: ['id', 'created', 'modified', 'sourceId', 'tenant_id', 'account_name'],
        sample: { firstName: 'Ada', lastName: 'Lovelace', phone: '555-0100', data: { dept: 'R&D' }, endDate: '2025-01-01' },
      },
    ];
  });
  after(async () => {
    console.log(summary('patch'));
    await h?.close();
  });

  const read = async (url: string) => {
    const res = await send(h, { method: 'GET', url, headers: { authorization: `Bearer ${h.admin.token}` } });
    assert.equal(res.statusCode, 200, res.body);
    return res.body;
  };
  const patch = (url: string, body: string, contentType = 'application/json-patch+json') =>
    send(h, { method: 'PATCH', url, headers: { authorization: `Bearer ${h.admin.token}`, 'content-type': contentType }, payload: body });

  /** Pointers no PATCH operation of `target` may touch. */
  function forbiddenPointer(target: Target): fc.Arbitrary<string> {
    const poison = fc.constantFrom('__proto__', 'constructor', 'prototype');
    return fc.oneof(
      fc.constantFrom(...target.readOnly).map((f) => `/${f}`),
      fc.tuple(fc.constantFrom(...target.readOnly), fc.constantFrom('', '/x', '/0', '/-')).map(([f, rest]) => `/${f}${rest}`),
      poison.map((p) => `/${p}`),
      fc.tuple(fc.constantFrom(...target.writable), poison).map(([f, p]) => `/${f}/${p}`),
      fc.tuple(fc.constantFrom(...target.writable), poison).map(([f, p]) => `/${f}/0/${p}/x`),
      fc.constantFrom('', '/', '//', 'name', '#/name', '/-', '/~2', '/ name', '/NAME', '/name ', '/%6Eame', '/\u0000', `/${'a'.repeat(600)}`),
      fc
        .string({ maxLength: 20 })
        .filter((s) => !target.writable.includes(s))
        .map((s) => `/${escapePointer(s)}`),
    );
  }

  function allowedOp(target: Target): fc.Arbitrary<Record<string, unknown>> {
    const field = fc.constantFrom(...Object.keys(target.sample));
    return fc.oneof(
      field.map((f) => ({ op: 'replace', path: `/${f}`, value: target.sample[f] })),
      field.map((f) => ({ op: 'test', path: `/${f}`, value: target.sample[f] })),
      fc.tuple(field, nastyJsonValue).map(([f, value]) => ({ op: 'replace', path: `/${f}`, value })),
    );
  }

  function forbiddenOp(target: Target): fc.Arbitrary<Record<string, unknown>> {
    const writable = fc.constantFrom(...target.writable).map((f) => `/${f}`);
    return fc.oneof(
      fc.tuple(fc.constantFrom('add', 'replace', 'test'), forbiddenPointer(target), nastyJsonValue).map(([op, path, value]) => ({ op, path, value })),
      forbiddenPointer(target).map((path) => ({ op: 'remove', path })),
      fc.tuple(fc.constantFrom('move', 'copy'), forbiddenPointer(target), writable).map(([op, from, path]) => ({ op, from, path })),
      fc.tuple(fc.constantFrom('move', 'copy'), writable, forbiddenPointer(target)).map(([op, from, path]) => ({ op, from, path })),
    );
  }

  for (const kind of ['source', 'custom attribute', 'system attribute', 'record']) {
    test(`${kind}: a patch touching a forbidden path is a 400 and changes nothing`, async () => {
      const target = targets.find((t) => t.name === kind)!;
      const patchArb = fc.tuple(
        fc.array(allowedOp(target), { maxLength: 3 }),
        forbiddenOp(target),
        fc.array(allowedOp(target), { maxLength: 2 }),
        fc.constantFrom(...FLAVOURS),
      );
      await fc.assert(
        fc.asyncProperty(patchArb, async ([head, bad, tail, flavour]) => {
          const url = target.url(flavour);
          const body = JSON.stringify([...head, bad, ...tail]);
          const before = await read(url);
          const counted = await changes();
          const res = await patch(url, body);
          const what = `PATCH ${url} ${body.slice(0, 400)}`;
          assertDocumented(res, what);
          assert.equal(res.statusCode, 400, `${what} → ${res.statusCode} ${res.body.slice(0, 300)}`);
          assert.match(res.json().detailCode, /^400\.1( |\.3 )/, what);
          assert.equal(await changes(), counted, `database changed: ${what}`);
          assert.equal(await read(url), before, `object changed: ${what}`);
        }),
        params(250),
      );
      assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeBefore);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });
  }

  test('prototype keys inside patch values and as raw JSON keys never reach Object.prototype', async () => {
    const target = targets.find((t) => t.name === 'record')!;
    const url = target.url('v2024');
    for (const text of [
      '[{"op":"add","path":"/data/__proto__","value":{"polluted":true}}]',
      '[{"op":"replace","path":"/data","value":{"__proto__":{"polluted":true}}}]',
      '[{"op":"replace","path":"/data","value":{"constructor":{"prototype":{"polluted":true}}}}]',
      '[{"op":"add","path":"/data/constructor/prototype/polluted","value":true}]',
      '[{"op":"copy","from":"/data","path":"/data/__proto__"}]',
      '{"__proto__":[{"op":"remove","path":"/firstName"}]}',
    ]) {
      const before = await read(url);
      const res = await patch(url, text);
      assertDocumented(res, text);
      assert.equal(res.statusCode, 400, `${text} → ${res.body}`);
      assert.equal(await read(url), before);
    }
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeBefore);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test(`at most 100 operations per patch; a value at most ${PATCH_LIMITS.maxDepth} levels deep; a patched document at most ${PATCH_LIMITS.maxNodes} values`, async () => {
    for (const target of targets.filter((t) => t.name !== 'system attribute')) {
      const url = target.url('v2024');
      const field = target.writable[0]!;
      const testOp = { op: 'test', path: `/${field}`, value: (JSON.parse(await read(url)) as Record<string, unknown>)[field] };
      const hundred = await patch(url, JSON.stringify(Array.from({ length: 100 }, () => testOp)));
      assert.equal(hundred.statusCode, 200, `${target.name}: 100 test operations: ${hundred.body.slice(0, 300)}`);

      const before = await read(url);
      const counted = await changes();
      const refusals: [string, string, RegExp][] = [
        ['101 operations', JSON.stringify(Array.from({ length: 101 }, () => testOp)), /must not have more than 100 entries/],
        ['a value 10,000 levels deep', `[{"op":"replace","path":"/${field}","value":${deepJson(10_000, 'array')}}]`, /nested deeper than/],
        // Past the body limit of sources (32 KiB) too: either refusal is before parsing.
        [
          'a value 10,000 objects deep',
          `[{"op":"add","path":"/${target.writable[0]}","value":${deepJson(10_000, 'object')}}]`,
          /nested deeper than|body is larger than/,
        ],
        [
          `a value one level past ${PATCH_LIMITS.maxDepth}`,
          `[{"op":"test","path":"/${field}","value":${deepJson(PATCH_LIMITS.maxDepth + 2, 'array')}}]`,
          /nested deeper than/,
        ],
        [
          `a value of ${PATCH_LIMITS.maxNodes + 1} values`,
          `[{"op":"replace","path":"/${field}","value":[${Array.from({ length: PATCH_LIMITS.maxNodes }, () => '0').join(',')}]}]`,
          /holds more than/,
        ],
      ];
      // copy doubles: 2^100 values if nothing stopped it (a patch bomb of a few kilobytes).
      const bomb = [
        { op: 'add', path: `/${target.writable[0]}`, value: [[0]] },
        ...Array.from({ length: 99 }, () => ({ op: 'copy', from: `/${target.writable[0]}`, path: `/${target.writable[0]}/0` })),
      ];
      refusals.push(['a copy bomb', JSON.stringify(bomb), /patched document (is nested deeper|holds more) than/]);
      const wide = [
        { op: 'add', path: `/${target.writable[0]}`, value: [Array.from({ length: 3000 }, () => 0)] },
        ...Array.from({ length: 99 }, () => ({ op: 'copy', from: `/${target.writable[0]}/0`, path: `/${target.writable[0]}/-` })),
      ];
      refusals.push(['a copy flood', JSON.stringify(wide), /patched document holds more than/]);
      for (const [what, body, pattern] of refusals) {
        const started = Date.now();
        const res = await patch(url, body);
        assert.equal(res.statusCode, 400, `${target.name}: ${what}: ${res.statusCode} ${res.body.slice(0, 300)}`);
        assert.equal(errorDtoProblem(res), undefined, `${target.name}: ${what}`);
        assert.match(res.json().messages[0].text, pattern, `${target.name}: ${what}`);
        assert.ok(Date.now() - started < 2000, `${target.name}: ${what} took ${Date.now() - started} ms`);
      }
      assert.equal(await changes(), counted, `${target.name}: database changed`);
      assert.equal(await read(url), before, `${target.name}: object changed`);
    }
  });

  test('a patch body is JSON Patch: other JSON, other media types and broken text are 400s', async () => {
    const target = targets.find((t) => t.name === 'source')!;
    const url = target.url('v2024');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
          fc.constantFrom(
            '[{"op":"replace","path":"/name"}]',
            '[{"op":"replace","path":"/name","value":"x","extra":1}]',
            '[{"op":"REPLACE","path":"/name","value":"x"}]',
            '[{"op":"replace","path":5,"value":"x"}]',
            '[{"op":"move","path":"/name"}]',
            '[null]',
            '[[]]',
            '[{"op":"replace","path":"/name","value":"x"}',
            '',
          ),
        ),
        fc.constantFrom('application/json-patch+json', 'application/json', 'application/merge-patch+json', 'text/plain'),
        async (body, contentType) => {
          const before = await read(url);
          const res = await patch(url, body, contentType);
          assertDocumented(res, `PATCH ${url} ${contentType} ${body.slice(0, 200)}`);
          // Only a patch (an array of operations; unknown members are dropped) may pass.
          if (res.statusCode === 200) assert.ok(Array.isArray(JSON.parse(body)), body);
          else assert.equal(await read(url), before, `${contentType} ${body}`);
        },
      ),
      params(200),
    );
  });
});
