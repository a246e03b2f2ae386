/**
 * Response serializers are compiled once per schema object (src/app.ts sharedSerializers): the
 * same function for every route and status sharing a schema, and the same output as Fastify's own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import { sharedSerializers } from '../../src/app.js';

const Item = Type.Object({ id: Type.String(), count: Type.Integer(), tags: Type.Optional(Type.Array(Type.String())) });
const List = Type.Array(Item);

test('one serializer per schema object, whatever the route or status', () => {
  const compile = sharedSerializers();
  const a = compile({ method: 'GET', url: '/v3/items/:id', httpStatus: '200', schema: Item });
  const b = compile({ method: 'GET', url: '/beta/items/:id', httpStatus: '200', schema: Item });
  const c = compile({ method: 'PUT', url: '/v2024/items/:id', httpStatus: '201', schema: Item });
  assert.equal(a, b);
  assert.equal(a, c);
  const list = compile({ method: 'GET', url: '/v3/items', httpStatus: '200', schema: List });
  assert.notEqual(list, a);
  // An equal but distinct object is compiled on its own (identity, not structure, is the key).
  assert.notEqual(compile({ method: 'GET', url: '/x', httpStatus: '200', schema: structuredClone(Item) }), a);
  // A separate factory (another encapsulation context) keeps its own.
  assert.notEqual(sharedSerializers()({ method: 'GET', url: '/v3/items/:id', httpStatus: '200', schema: Item }), a);
});

test('the shared serializers write what Fastify’s own write', () => {
  const ours = sharedSerializers();
  const fastify = SerializerSelector()();
  const route = { method: 'GET', url: '/v3/items', httpStatus: '200', schema: List };
  const data = [
    { id: 'a"b', count: 2, extra: 'dropped' },
    { id: 'ü', count: 0, tags: ['x'] },
  ];
  assert.equal(ours(route)(data), fastify(route)(data));
  assert.deepEqual(JSON.parse(ours(route)(data)), [
    { id: 'a"b', count: 2 },
    { id: 'ü', count: 0, tags: ['x'] },
  ]);
});
