import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idSpellings, isId, newUuid, normalizeId } from '../../src/domain/ids.js';

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('newUuid: RFC 9562 version 7, the millisecond time in the first 48 bits, unique', () => {
  const at = Date.UTC(2026, 11, 6, 12, 0, 0, 123);
  const ids = Array.from({ length: 1000 }, () => newUuid(at));
  for (const id of ids) {
    assert.match(id, UUID7);
    assert.equal(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16), at);
  }
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(newUuid(at) < newUuid(at + 1), 'a later millisecond sorts after');
  assert.ok(isId(newUuid()));
});

test('idSpellings: the dashed and the 32-hex form, lower case; a non-id twice', () => {
  assert.deepEqual(idSpellings('0123456789ABCDEF0123456789ABCDEF'), ['01234567-89ab-cdef-0123-456789abcdef', '0123456789abcdef0123456789abcdef']);
  assert.deepEqual(idSpellings('01234567-89ab-cdef-0123-456789abcdef'), ['01234567-89ab-cdef-0123-456789abcdef', '0123456789abcdef0123456789abcdef']);
  assert.deepEqual(idSpellings('me'), ['me', 'me']);
  assert.equal(normalizeId('01234567-89AB-cdef-0123-456789abcdef'), '0123456789abcdef0123456789abcdef');
});
