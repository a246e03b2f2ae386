import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PackedTexts } from '../../src/modules/bulk/packed.js';
import { ToldRecords } from '../../src/modules/bulk/events.js';

test('texts pushed come back in order, past the first buffer and the first ends, multi-byte text too', () => {
  const packed = new PackedTexts();
  const texts = Array.from({ length: 5000 }, (_, k) => (k % 7 === 0 ? '' : `{"n":${k},"name":"Zoë ${'é'.repeat(k % 50)} 😀"}`));
  texts.push('x'.repeat(300_000));
  for (const text of texts) packed.push(text);
  assert.equal(packed.length, texts.length);
  for (const [k, text] of texts.entries()) assert.equal(packed.at(k), text, `text ${k}`);
  assert.ok(packed.bytes.length >= Buffer.byteLength(texts.join('')));
  assert.throws(() => packed.at(texts.length), RangeError);
  assert.throws(() => packed.at(-1), RangeError);
});

test('texts read from a buffer and its ends, as another thread laid them', () => {
  const source = new PackedTexts();
  for (const text of ['a', 'bé', '', 'cd']) source.push(text);
  const copy = new PackedTexts(Buffer.from(source.bytes), new Uint32Array(source.ends), 4);
  assert.deepEqual(
    [0, 1, 2, 3].map((k) => copy.at(k)),
    ['a', 'bé', '', 'cd'],
  );
  copy.push('more');
  assert.equal(copy.at(4), 'more');
  assert.equal(copy.length, 5);
});

test("a job's records and their event data, in the order written", () => {
  const told = new ToldRecords();
  for (let k = 0; k < 3000; k++) told.push(`id-${k}`, `{"object":{"n":${k}}}`);
  assert.equal(told.length, 3000);
  const all = [...told];
  assert.equal(all.length, 3000);
  assert.deepEqual(all[2999], { id: 'id-2999', data: '{"object":{"n":2999}}' });
  assert.deepEqual(all[0], { id: 'id-0', data: '{"object":{"n":0}}' });
});
