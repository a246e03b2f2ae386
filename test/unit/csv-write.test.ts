/** CSV writing: RFC 4180 quoting and the formula-injection rule (src/modules/bulk/csv.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse } from 'csv-parse/sync';
import { csvField, csvLine, neutralise, parseCsv, restore } from '../../src/modules/bulk/csv.js';

test('fields are quoted exactly when RFC 4180 needs it, quotes doubled', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField(''), '');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField('cr\rhere'), '"cr\rhere"');
  assert.equal(csvField(' spaced '), ' spaced ');
  assert.equal(csvLine(['accountName', 'firstName']), 'accountName,firstName\n');
});

test('values a spreadsheet would run as formulas get one apostrophe in front', () => {
  for (const v of ['=1+1', '+1 555 0100', '-5', '@SUM(A1)', '\tx', '\rx']) assert.equal(neutralise(v), `'${v}`, v);
  assert.equal(neutralise("'=x"), "''=x", 'an apostrophe already there is kept, so reading gives it back');
  assert.equal(neutralise("''-1"), "'''-1");
  for (const v of ['plain', "O'Neil", "'quoted", '1-2', 'a=b', '', '2020-03-24T00:00:00.000Z']) assert.equal(neutralise(v), v, v);
  assert.equal(csvField('=HYPERLINK("http://x","y")'), `"'=HYPERLINK(""http://x"",""y"")"`);
});

test('restore undoes neutralise, for every string', () => {
  fc.assert(fc.property(fc.string(), (v) => restore(neutralise(v)) === v));
  // A hand-written file that neutralised a value the same way reads as the value.
  assert.equal(restore("'+1 555"), '+1 555');
  assert.equal(restore("'plain"), "'plain");
});

const cell = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', ',', '"', '\n', '\r', "'", '=', '-', '@', 'é', '😀', '\t'), maxLength: 12 });
/** Leading and trailing blanks are not data (the reader trims around fields, as validation does). */
const trimmed = cell.map((s) => s.replace(/^[ \t]+|[ \t]+$/g, ''));

test('what csvLine writes, parseCsv reads back (any table of strings)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.array(trimmed, { minLength: 5, maxLength: 5 }), { maxLength: 8 }), (width, table) => {
      const rows = table.map((r) => r.slice(0, width)).filter((r) => r.some((c) => c !== ''));
      const header = Array.from({ length: width }, (_, i) => `c${i}`);
      const text = [header, ...rows].map(csvLine).join('');
      const read = parseCsv(Buffer.from(text));
      assert.deepEqual(read.header, header);
      assert.deepEqual(
        read.rows.map((r) => r.cells),
        rows,
      );
    }),
  );
});

test('csv-parse reads what csvLine writes the same way (after restoring)', () => {
  fc.assert(
    fc.property(fc.array(fc.array(trimmed, { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 6 }), (rows) => {
      const text = rows.map(csvLine).join('');
      const theirs = (parse(text, { relax_column_count: false }) as string[][]).map((r) => r.map(restore));
      assert.deepEqual(theirs, rows);
    }),
  );
});
