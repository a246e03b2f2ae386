/**
 * jsonString (src/modules/records/wire.ts): the same JSON string literal as JSON.stringify for
 * any storable text, by its shortcut (nothing to escape) or not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonString } from '../../src/modules/records/wire.js';

test('equals JSON.stringify for every character class JSON treats apart', () => {
  const samples = ['', 'plain', ' spaced ', 'quote " inside', 'back\\slash', 'slash / stays', 'tab\there', 'new\nline', 'cr\r', '\b\f', 'nul-free \u0001 \u001f', '\u007f del', 'ünïcödé 漢字', 'emoji 😀', 'sep \u2028 \u2029', "O'Neil", '{"not":"json"}', '"', '\\'];
  for (let c = 0; c < 0x80; c++) samples.push(`a${String.fromCharCode(c)}b`, String.fromCharCode(c));
  for (const text of samples) {
    assert.equal(jsonString(text), JSON.stringify(text), JSON.stringify(text));
    assert.equal(JSON.parse(jsonString(text)), text);
  }
});
