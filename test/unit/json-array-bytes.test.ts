/**
 * JsonArrayBytes (src/modules/records/wire.ts): the UTF-8 bytes of the JSON array of the pushed
 * elements, exactly as Buffer.from(`[${elements.join(',')}]`), for any text and any size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonArrayBytes } from '../../src/modules/records/wire.js';

function bytesOf(elements: string[], capacity?: number): Buffer {
  const writer = new JsonArrayBytes(capacity);
  for (const e of elements) writer.push(e);
  return writer.end();
}

test('empty, one and several elements', () => {
  assert.equal(bytesOf([]).toString(), '[]');
  assert.equal(bytesOf(['{"a":1}']).toString(), '[{"a":1}]');
  assert.equal(bytesOf(['1', '"two"', 'null']).toString(), '[1,"two",null]');
});

test('multi-byte text (2-, 3- and 4-byte UTF-8) and growth well past the first 64 KiB', () => {
  const texts = ['ünïcödé', '漢字', 'emoji 😀', 'line\u2028sep', 'quote " \\ slash', 'x'.repeat(70_000)];
  const elements = Array.from({ length: 600 }, (_, i) => JSON.stringify({ i, text: texts[i % texts.length]!.repeat(1 + (i % 40)) }));
  const bytes = bytesOf(elements);
  assert.ok(bytes.length > 4 * 64 * 1024);
  assert.ok(bytes.equals(Buffer.from(`[${elements.join(',')}]`)));
  assert.deepEqual(
    JSON.parse(bytes.toString('utf8')),
    elements.map((e) => JSON.parse(e)),
  );
});

test('an element of only 4-byte characters fills its reservation exactly', () => {
  const e = JSON.stringify('😀'.repeat(30_000));
  assert.ok(bytesOf([e, e, e]).equals(Buffer.from(`[${[e, e, e].join(',')}]`)));
});

test('any starting capacity, from almost nothing to more than needed', () => {
  const elements = Array.from({ length: 50 }, (_, i) => JSON.stringify({ i, name: 'ünï'.repeat(i) }));
  const expected = Buffer.from(`[${elements.join(',')}]`);
  for (const capacity of [0, 1, 16, 100, expected.length, 10 * expected.length]) {
    assert.ok(bytesOf(elements, capacity).equals(expected), `capacity ${capacity}`);
    assert.equal(bytesOf([], capacity).toString(), '[]', `capacity ${capacity}`);
  }
});
