/** CSV reading (src/modules/bulk/csv.ts) and the column mapping of uploads (columns.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse } from 'csv-parse/sync';
import { CsvError, type CsvRow, csvLine, MAX_RECORD_CHARS, parseCsv, readCsv } from '../../src/modules/bulk/csv.js';
import { LIMITS } from '../../src/domain/limits.js';
import { RECORD_LIMITS } from '../../src/modules/records/schemas.js';
import { columnValues, mapColumns, validateRows } from '../../src/modules/bulk/columns.js';

const read = (text: string | Buffer) => parseCsv(Buffer.isBuffer(text) ? text : Buffer.from(text));
const fails = (text: string | Buffer, message: RegExp, line?: number) =>
  assert.throws(
    () => read(text),
    (e: unknown) => e instanceof CsvError && message.test(e.message) && (line === undefined || e.line === line),
  );

test('a BOM, CRLF or CR line ends, spaces around fields, quoted fields and empty lines are accepted', () => {
  const t = read('\uFEFF accountName , firstName \r\n\r\nJon.Smith, Jon\r\n"a,b", "multi\r\nline" \r\n,\r\n   \r\n"x","say ""hi"""\rlast,one');
  assert.deepEqual(t.header, ['accountName', 'firstName']);
  assert.deepEqual(
    t.rows.map((r) => [r.line, ...r.cells]),
    [
      [3, 'Jon.Smith', 'Jon'],
      [4, 'a,b', 'multi\r\nline'],
      [8, 'x', 'say "hi"'],
      [9, 'last', 'one'],
    ],
  );
});

test('the line of each row is where it starts, across quoted newlines of every kind', () => {
  const t = read('h1,h2\n"a\nb\r\nc\rd",x\ny,z\n');
  assert.deepEqual(
    t.rows.map((r) => r.line),
    [2, 6],
  );
});

test('neutralised cells are restored', () => {
  assert.deepEqual(read("a,b\n'=1+1,'+1 555\n").rows[0]!.cells, ['=1+1', '+1 555']);
});

test('malformed files are refused with the line', () => {
  fails('', /empty/);
  fails('\n \n', /no header/);
  fails(Buffer.from([0x61, 0x2c, 0x62, 0x0a, 0xff, 0xfe, 0x0a]), /not UTF-8/);
  fails(Buffer.from('a,b\n1,\u0000\n'), /not UTF-8/);
  fails('a,b\n1,2\n"open,3\n', /not closed/, 3);
  fails('a,b\n1,2\nx"y,3\n', /double quote but is not quoted/, 3);
  fails('a,b\n"x"y,3\n', /text after its closing quote/, 2);
  fails('a,b\n1,2\n1,2,3\n', /line 3 has more than 2 fields, the header has 2/, 3);
  fails('a,b\n1,2\n1\n', /line 3 has 1 fields, the header has 2/, 3);
  assert.deepEqual(read('a,b').rows, [], 'a header alone is a file with no rows');
});

test('rows are read lazily: a bad row late in the file throws only when reached', async () => {
  const reader = readCsv(Buffer.from('a\n1\n2\n"bad\n'));
  const rows = reader.rows();
  assert.deepEqual((await rows.next()).value?.cells, ['1']);
  assert.deepEqual((await rows.next()).value?.cells, ['2']);
  await assert.rejects(rows.next(), CsvError);
});

test('the largest valid row fits the record bound, one character more does not', () => {
  // At its longest: a formula (an apostrophe is added) of double quotes (each is doubled).
  const longest = (max: number) => `=${'"'.repeat(max - 1)}`;
  const system = [255, 255, 255, 255, 254, 255, 64, 64].map(longest);
  const custom = Array.from({ length: LIMITS.customAttributesPerSource }, () => longest(RECORD_LIMITS.dataValue));
  const line = csvLine([...system, ...custom]).replace(/\n$/, '\r\n');
  assert.ok(line.length <= MAX_RECORD_CHARS, `${line.length} characters`);
  const header = Array.from({ length: 18 }, (_, i) => `c${i}`).join(',');
  assert.equal(read(`${header}\n${line}`).rows[0]!.cells.length, 18);
  const cells = [`"${'x'.repeat(MAX_RECORD_CHARS)}"`, ...Array.from({ length: 17 }, () => 'y')];
  fails(`${header}\n${cells.join(',')}\n`, /line 2 is longer than 24576 characters/, 2);
  fails(`${header}\n${'x'.repeat(MAX_RECORD_CHARS + 1)}\n`, /line 2 is longer than/, 2);
  fails(`${header}\n${' '.repeat(MAX_RECORD_CHARS + 1)}x\n`, /line 2 is longer than/, 2);
  fails(`${header}\n"${'x'.repeat(MAX_RECORD_CHARS + 1)}`, /line 2 is longer than/, 2);
});

test('a hostile row is refused at its bound, not after splitting it', () => {
  fails(`a,b\n1,2\n${','.repeat(16 * 1024 * 1024)}\n`, /line 3 has more than 2 fields, the header has 2/, 3);
  fails(`${'h,'.repeat(100)}h\n1\n`, /line 1 has more than 100 fields/, 1);
  fails(`${'\n'.repeat(MAX_RECORD_CHARS + 1)}a,b\n`, /no header row in its first 24576 characters/);
  assert.equal(read(`a,b\n${',\n'.repeat(100_000)}1,2\n`).rows[0]!.line, 100_002, 'blank rows are skipped, however many');
});

test('the reader agrees with csv-parse on RFC 4180 documents', () => {
  const field = fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r\n', 'é'), maxLength: 6 }).map((s) => `"${s.replaceAll('"', '""')}"`);
  fc.assert(
    fc.property(fc.array(fc.array(field, { minLength: 3, maxLength: 3 }), { minLength: 2, maxLength: 6 }), fc.constantFrom('\n', '\r\n'), (rows, eol) => {
      const text = rows.map((r) => r.join(',')).join(eol) + eol;
      const theirs = (parse(text) as string[][]).filter((r) => r.some((c) => c !== ''));
      const mine = parseCsv(Buffer.from(text));
      assert.deepEqual([mine.header, ...mine.rows.map((r) => r.cells)], theirs);
    }),
  );
});

const ATTRIBUTES = [
  ...['accountName', 'firstName', 'lastName', 'phone', 'email', 'manager', 'startDate', 'endDate'].map((technicalName) => ({
    technicalName,
    system: true,
    required: true,
  })),
  { technicalName: 'department', system: false, required: false },
  { technicalName: 'badge', system: false, required: true },
];
const SYSTEM = 'accountName,firstName,lastName,phone,email,manager,startDate,endDate';

test('columns match attributes in any case; one problem per unknown, repeated, unnamed or missing column', () => {
  const ok = mapColumns(['ACCOUNTNAME', 'firstname', 'lastName', 'Phone', 'email', 'manager', 'startDate', 'enddate', 'Badge'], ATTRIBUTES);
  assert.deepEqual(ok.problems, []);
  assert.deepEqual(ok.map.absent, ['department']);
  assert.equal(ok.map.columns[0]!.technicalName, 'accountName');
  const bad = mapColumns(['accountName', 'nickname', '', 'EMAIL', 'email'], ATTRIBUTES);
  const texts = bad.problems.map((p) => p.text);
  assert.ok(texts.some((t) => /column 2 "nickname" is not an attribute/.test(t)));
  assert.ok(texts.some((t) => /column 3 of the header has no name/.test(t)));
  assert.ok(texts.some((t) => /column 5 "email" repeats column 4/.test(t)));
  for (const missing of ['firstName', 'lastName', 'phone', 'manager', 'startDate', 'endDate', 'badge']) {
    assert.ok(
      texts.some((t) => t === `the required column "${missing}" is missing`),
      missing,
    );
  }
  assert.ok(!texts.some((t) => /column "department" is missing/.test(t)), 'an optional custom attribute may be left out');
  assert.ok(bad.problems.every((p) => p.field === 'data'));
});

test('rows are validated with the records validation: one error per problem, duplicates named', async () => {
  const file = [
    `${SYSTEM},department,badge`,
    'a.one,Ann,One,555,ann@example.com,boss,2024-01-01,2024-12-31,,B1',
    'a.two,,Two,555,not-an-email,nobody,2024-02-30,2024-12-31,Sales,',
    'a.one,Ann,Again,555,ann@example.com,boss,2024-01-01,2024-12-31,,B2',
  ].join('\n');
  const reader = readCsv(Buffer.from(file));
  const { map } = mapColumns(reader.header, ATTRIBUTES);
  assert.deepEqual(await columnValues(reader, map, 'manager'), { rows: 3, values: new Set(['boss', 'nobody']) });
  const result = await validateRows(reader, map, { sourceId: 'f'.repeat(32), attributes: ATTRIBUTES, managers: new Set(['boss']) });
  assert.equal(result.rows, 3);
  assert.equal(result.failed, 2);
  assert.equal(result.valid.length, 1);
  assert.deepEqual(result.valid[0]!.data, { badge: 'B1' }, 'an empty custom cell is no value');
  const at = (line: number, column: string) => result.errors.find((e) => e.line === line && e.column === column);
  assert.match(at(3, 'firstName')!.message, /firstName is required/);
  assert.equal(at(3, 'email')!.value, 'not-an-email');
  assert.match(at(3, 'manager')!.message, /nobody/);
  assert.match(at(3, 'startDate')!.message, /no day 30/);
  assert.match(at(3, 'badge')!.message, /data.badge is required/);
  assert.match(at(4, 'accountName')!.message, /already on line 2/);
  assert.equal(result.errorCount, result.errors.length);
  const capped = await validateRows(readCsv(Buffer.from(file)), map, { sourceId: 'f'.repeat(32), attributes: ATTRIBUTES, managers: new Set() }, 2);
  assert.equal(capped.errors.length, 2);
  assert.ok(capped.errorCount > 2);
});

test('reading a column of a large file lets the event loop turn every 10 ms', async () => {
  const lines = [`${SYSTEM},badge`, ...Array.from({ length: 100_000 }, (_, i) => `a.${i},A,B,555,a${i}@example.com,m${i % 7},2024-01-01,2024-12-31,b`)];
  const reader = readCsv(Buffer.from(lines.join('\n')));
  const { map } = mapColumns(reader.header, ATTRIBUTES);
  let ranBetween = false;
  setImmediate(() => (ranBetween = true));
  const read = columnValues(reader, map, 'manager');
  assert.equal(ranBetween, false);
  const { rows, values } = await read;
  assert.equal(rows, 100_000);
  assert.deepEqual(values, new Set(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']));
  assert.ok(ranBetween, 'an immediate queued before the read ran while it read');
});

test('a file of several megabytes reads as it was written: quoted line breaks, characters and rows across the pieces', async () => {
  const rows: string[][] = [];
  for (let i = 0; i < 40_000; i++) rows.push([`r${i}`, i % 7 === 0 ? `two\nlines "${'ж'.repeat(i % 50)}"` : '€'.repeat(i % 31), `${i}`]);
  const text = `\uFEFF${csvLine(['a', 'b', 'c'])}${rows.map((r) => csvLine(r)).join('')}`;
  assert.ok(Buffer.byteLength(text) > 2 * 1024 * 1024);
  const reader = readCsv(Buffer.from(text));
  assert.deepEqual(reader.header, ['a', 'b', 'c']);
  const read: CsvRow[] = [];
  for await (const row of reader.rows()) read.push(row);
  assert.deepEqual(
    read.map((r) => r.cells),
    rows,
  );
  // Line numbers count the line breaks inside quoted fields.
  let line = 2;
  for (const [k, r] of read.entries()) {
    assert.equal(r.line, line);
    line += rows[k]![1]!.includes('\n') ? 2 : 1;
  }
});
