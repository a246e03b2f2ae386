/**
 * An upload checked as it arrives (src/modules/bulk/upload.ts) and the CSV parser it pushes to
 * (csv.ts): the same verdict as reading the whole file, however the network cuts it, in steps that
 * let the event loop turn.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CsvError, CsvParser, type CsvRow, csvLine, parseCsv, readCsv } from '../../src/modules/bulk/csv.js';
import { caselessKey } from '../../src/domain/text.js';
import { FILE_PART } from '../../src/modules/bulk/repository.js';
import { ReceivedFile, receiveStream, receiveText } from '../../src/modules/bulk/upload.js';

/** The file pushed in pieces of the sizes given (cycled), as a network would deliver it. */
async function received(file: Buffer, sizes: readonly number[]): Promise<ReceivedFile> {
  const pieces: Buffer[] = [];
  for (let at = 0, k = 0; at < file.length; k++) {
    const size = Math.max(1, sizes[k % sizes.length]!);
    pieces.push(file.subarray(at, at + size));
    at += size;
  }
  const out = new ReceivedFile();
  await receiveStream(
    (async function* () {
      yield* pieces;
    })(),
    out,
  );
  return out;
}

/** What reading the whole file says: the scan, or the message that refuses it. */
function verdict(file: Buffer): { header: string[]; rows: number; accountKeys: string[] } | string {
  try {
    const { header, rows } = parseCsv(file);
    const column = header.findIndex((c) => c.trim().toLowerCase() === 'accountname');
    const keys = new Set(
      column < 0
        ? []
        : rows
            .map((r) => r.cells[column]!.trim())
            .filter((v) => v !== '')
            .map(caselessKey),
    );
    return { header, rows: rows.length, accountKeys: [...keys].sort() };
  } catch (error) {
    if (error instanceof CsvError) return error.message;
    throw error;
  }
}

function scanOf(file: ReceivedFile): ReturnType<typeof verdict> {
  try {
    const { header, rows, accountKeys } = file.scan();
    return { header, rows, accountKeys: [...accountKeys].sort() };
  } catch (error) {
    if (error instanceof CsvError) return error.message;
    throw error;
  }
}

const cell = fc.string({ unit: fc.constantFrom('a', 'B', ' ', ',', '"', '\n', '\r\n', '\r', 'é', '€', '😀', "'", '='), maxLength: 8 });
const quoted = cell.map((s) => `"${s.replaceAll('"', '""')}"`);
const text = fc
  .tuple(
    fc.array(fc.array(fc.oneof(cell, quoted), { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 8 }),
    fc.constantFrom('\n', '\r\n', '\r'),
    fc.boolean(),
    fc.constantFrom('', 'x"y,1\n', '"open\n', 'a,b,c\n', '\u0000\n'),
  )
  .map(([rows, eol, bom, tail]) => `${bom ? '\uFEFF' : ''}accountName,b${eol}${rows.map((r) => r.join(',')).join(eol)}${eol}${tail}`);

test('a file checked as it arrives, cut anywhere (characters too), gets the verdict of the whole file', async () => {
  await fc.assert(
    fc.asyncProperty(text, fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }), async (csv, sizes) => {
      const file = Buffer.from(csv);
      const got = await received(file, sizes);
      assert.deepEqual(scanOf(got), verdict(file));
      assert.equal(got.size, file.length);
      if (typeof verdict(file) !== 'string') assert.ok(Buffer.concat(got.parts).equals(file), 'the parts are the file');
    }),
    { numRuns: 300 },
  );
});

test('the parser, pushed the file in pieces of any size, reads the rows (and lines) of the whole file', () => {
  fc.assert(
    fc.property(text, fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }), (csv, sizes) => {
      const file = Buffer.from(csv);
      const parser = new CsvParser();
      const rows: CsvRow[] = [];
      let got: { header: string[] | undefined; rows: CsvRow[] } | string;
      try {
        for (let at = 0, k = 0; at < file.length; k++) {
          parser.push(file.subarray(at, at + sizes[k % sizes.length]!));
          at += sizes[k % sizes.length]!;
          while (parser.ready) rows.push(...parser.rows());
        }
        parser.end();
        while (parser.ready) rows.push(...parser.rows());
        got = { header: parser.header, rows };
      } catch (error) {
        if (!(error instanceof CsvError)) throw error;
        got = error.message;
      }
      let whole: typeof got;
      try {
        whole = parseCsv(file);
      } catch (error) {
        whole = (error as CsvError).message;
      }
      // Reading the whole file checks it is text first; the parser says so where it meets it.
      if (typeof whole === 'string' && /not UTF-8/.test(whole)) assert.equal(typeof got, 'string');
      else assert.deepEqual(got, whole);
    }),
    { numRuns: 300 },
  );
});

test('a large file is kept in parts of FILE_PART bytes, rows and characters cut across them', async () => {
  const rows = Array.from({ length: 12_000 }, (_, i) => csvLine([`n${i}`, i % 5 === 0 ? `line\nbreak ${'ж'.repeat(i % 40)}` : '€'.repeat(i % 33)]));
  const file = Buffer.from(`accountName,b\n${rows.join('')}`);
  assert.ok(file.length > 2.5 * FILE_PART);
  const got = await received(file, [65_536, 1, 7_777]);
  assert.deepEqual(scanOf(got), verdict(file));
  assert.ok(got.parts.slice(0, -1).every((p) => p.length === FILE_PART));
  assert.ok(Buffer.concat(got.parts).equals(file));
});

test('a file refused midway is no longer kept, yet a later byte that is not text is what is reported', async () => {
  const commas = Buffer.concat([Buffer.from('accountName,b\n1,2\n'), Buffer.alloc(4 * FILE_PART, ',')]);
  const refused = await received(commas, [65_536]);
  assert.match(scanOf(refused) as string, /line 3 has more than 2 fields, the header has 2/);
  assert.deepEqual(refused.parts, [], 'nothing is kept of a refused file');
  assert.equal(refused.size, commas.length);
  const late = Buffer.concat([commas, Buffer.from([0xff])]);
  assert.equal(scanOf(await received(late, [65_536])), 'the file is not UTF-8 text', 'as reading the whole file says');
  assert.equal(verdict(late), 'the file is not UTF-8 text');
  const cut = Buffer.concat([commas, Buffer.from('€').subarray(0, 2)]);
  assert.equal(scanOf(await received(cut, [65_536])), 'the file is not UTF-8 text', 'a file that ends inside a character');
  assert.equal(scanOf(await received(Buffer.alloc(0), [1])), 'the file is empty: a header row is expected');
});

test('a text field: CRLF and CR read as LF, never cut from their LF or from a surrogate half, in pieces', async () => {
  const value = `accountName,b\r\n${Array.from({ length: 40_000 }, (_, i) => `"n${i}\r\nx","😀${i}"\r`).join('\n')}\r\n`;
  const file = new ReceivedFile();
  await receiveText(value, file);
  const expected = Buffer.from(value.replace(/\r\n?/g, '\n'));
  assert.ok(Buffer.concat(file.parts).equals(expected));
  assert.deepEqual(scanOf(file), verdict(expected));
  assert.equal(file.size, expected.length);
});

test('blank lines, however many, are read in steps with turns of the event loop between them', async () => {
  const blank = Buffer.from(`a,b\n${',\n'.repeat(2_000_000)}1,2\n`);
  let turned = false;
  setImmediate(() => (turned = true));
  const rows = [];
  for await (const row of readCsv(blank).rows()) rows.push(row);
  assert.deepEqual(
    rows.map((r) => [r.line, ...r.cells]),
    [[2_000_002, '1', '2']],
  );
  assert.ok(turned, 'an immediate queued before the read ran while it read');
  turned = false;
  setImmediate(() => (turned = true));
  const got = await received(blank, [65_536]);
  assert.equal(got.scan().rows, 1);
  assert.ok(turned, 'and while an upload of them arrived');
});
