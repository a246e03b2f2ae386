/**
 * Hostile CSV uploads (`POST …/non-employee-bulk-upload`, multipart/form-data): formula cells that
 * must come back neutralised on export and import back unchanged, NUL bytes, bytes that are not
 * UTF-8, a header of 1,000,000 columns, one line repeated up to the size cap, a compressed body
 * that would expand, missing and wrong multipart boundaries, two `data` parts, too many parts, a
 * file over the cap; then generated CSV text of every kind. Every answer is documented; a refused
 * upload stores nothing; an accepted one ends COMPLETED or ERROR.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { parse } from 'csv-parse/sync';
import { harness, type Harness } from '../helpers/app.js';
import { MAX_UPLOAD_BYTES } from '../../src/modules/bulk/service.js';
import { assertDocumented, bulkIdle, changeCounter, multipart, nastyString, params, seed, send, summary, SYSTEM_COLUMNS, type World } from './support.js';

/** One CSV field as RFC 4180 writes it (quoted when it must be). */
const field = (value: string) => (/[",\r\n]/.test(value) || /^\s|\s$/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);
const line = (cells: string[]) => cells.map(field).join(',');

describe('fuzz: hostile CSV uploads', () => {
  let h: Harness;
  let w: World;
  let changes: () => Promise<number>;
  let uploadUrl: string;
  let counter = 0;

  before(async () => {
    h = await harness();
    w = await seed(h);
    changes = await changeCounter(h);
    uploadUrl = `/v2024/non-employee-sources/${w.sourceId}/non-employee-bulk-upload`;
  });
  after(async () => {
    console.log(summary('bulk'));
    await h?.close();
  });

  const post = (payload: Buffer | string, contentType: string, headers: Record<string, string> = {}) =>
    send(h, { method: 'POST', url: uploadUrl, headers: { authorization: `Bearer ${h.admin.token}`, 'content-type': contentType, ...headers }, payload });
  const upload = (csv: string | Buffer, options: { filename?: string | null; type?: string } = {}) => {
    const { payload, contentType } = multipart([{ value: csv, filename: options.filename, type: options.type }]);
    return post(payload, contentType);
  };
  /** Asserts a refusal: 400 in the documented shape, nothing stored; returns the first message. */
  const refused = async (what: string, request: () => Promise<Awaited<ReturnType<typeof post>>>, pattern?: RegExp) => {
    const counted = await changes();
    const started = Date.now();
    const res = await request();
    assertDocumented(res, what);
    assert.equal(res.statusCode, 400, `${what}: ${res.statusCode} ${res.body.slice(0, 300)}`);
    assert.ok(res.body.length < 64 * 1024, `${what}: a ${res.body.length}-byte answer`);
    assert.ok(Date.now() - started < 10_000, `${what}: took ${Date.now() - started} ms`);
    if (pattern) assert.match(res.json().messages[0].text, pattern, what);
    assert.equal(await changes(), counted, `${what}: something was stored`);
    return res.json().messages[0].text as string;
  };
  const job = async (id: string) =>
    (await h.request('GET', `/v2024/non-employee-sources/${w.sourceId}/non-employee-bulk-upload/jobs/${id}`, h.admin.token)).json();

  test('formula cells are neutralised on export and import back unchanged', async () => {
    const formula = fc
      .tuple(
        fc.constantFrom('=', '+', '-', '@', "'=", "''+", "'-", "'@"),
        // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is one of the characters left out.
        fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim() === s && !/[\u0000\r\n]/.test(s)),
      )
      .map(([head, rest]) => head + rest);
    await fc.assert(
      fc.asyncProperty(fc.array(formula, { minLength: 4, maxLength: 4 }), async ([first, last, phone, dept]) => {
        const accountName = `formula.${++counter}`;
        const csv = [
          `${SYSTEM_COLUMNS},dept`,
          line([accountName, first!, last!, phone!, `${accountName}@example.com`, 'admin', '2024-01-01', '2025-01-01', dept!]),
        ].join('\n');
        const res = await upload(csv);
        assert.equal(res.statusCode, 202, res.body);
        await bulkIdle(h);
        const done = await job(res.json().id);
        assert.equal(done.status, 'COMPLETED', JSON.stringify(done));

        const exported = await send(h, {
          method: 'GET',
          url: `/v2024/non-employee-sources/${w.sourceId}/non-employees/download`,
          headers: { authorization: `Bearer ${h.admin.token}` },
        });
        assert.equal(exported.statusCode, 200);
        const rows = parse(exported.body, { relax_column_count: false }) as string[][];
        const header = rows[0]!;
        const row = rows.find((r) => r[0] === accountName)!;
        assert.ok(row, `${accountName} not exported`);
        for (const cell of row) assert.doesNotMatch(cell, /^[=+\-@\t\r]/, `a live formula in the export: ${JSON.stringify(cell)}`);
        const cell = (name: string) => row[header.indexOf(name)]!;
        // Reading removes one neutralising apostrophe (`'=x` is the value `=x`); writing adds one.
        const stored = [first!, last!, phone!, dept!].map((v) => (/^'+[=+\-@]/.test(v) ? v.slice(1) : v));
        assert.deepEqual(
          [cell('firstName'), cell('lastName'), cell('phone'), cell('dept')],
          stored.map((v) => `'${v}`),
        );

        // The export imports back to the same values: nothing changes.
        const again = await upload(exported.body);
        assert.equal(again.statusCode, 202, again.body);
        await bulkIdle(h);
        const second = await job(again.json().id);
        assert.equal(second.status, 'COMPLETED', JSON.stringify(second));
        assert.equal(second.counts.updated, 0, JSON.stringify(second));
        const record = await h.app.db.kysely
          .selectFrom('records')
          .select(['first_name', 'last_name', 'phone'])
          .where('account_name', '=', accountName)
          .executeTakeFirstOrThrow();
        assert.deepEqual([record.first_name, record.last_name, record.phone], stored.slice(0, 3));
      }),
      params(12),
    );
  });

  test('NUL bytes, bytes that are not UTF-8, and NULs in names are refused', async () => {
    const valid = `${SYSTEM_COLUMNS}\nnul.one,A,B,1,a@example.com,admin,2024-01-01,2025-01-01\n`;
    await refused('NUL in a cell', () => upload(valid.replace('A,B', 'A\u0000,B')), /not UTF-8 text/);
    await refused('NUL in the header', () => upload(valid.replace('firstName', 'first\u0000Name')), /not UTF-8 text/);
    await refused('a NUL text field', () => {
      const { payload, contentType } = multipart([{ value: valid.replace('A,B', 'A\u0000,B'), filename: null }]);
      return post(payload, contentType);
    });
    await refused('Latin-1 bytes', () => upload(Buffer.concat([Buffer.from(valid), Buffer.from([0xe9, 0xff, 0xfe])])), /not UTF-8 text/);
    await refused('a UTF-16 file', () => upload(Buffer.from(`\ufeff${valid}`, 'utf16le')), /not UTF-8 text/);
    await refused('an encoded lone surrogate', () => upload(Buffer.concat([Buffer.from(valid), Buffer.from([0xed, 0xa0, 0x80, 0x0a])])), /not UTF-8 text/);
    await refused('a NUL in the file name', () => upload(valid, { filename: 'a\u0000b.csv' }), /file name/);
    await refused('a file name of 10,000 characters', () => upload(valid, { filename: `${'n'.repeat(10_000)}.csv` }), /file name/);
  });

  test('a header of 1,000,000 columns, or of 1,000,000 empty names, is refused at its 101st field', async () => {
    const wide = Array.from({ length: 1_000_000 }, (_, i) => `c${i}`).join(',');
    await refused('1,000,000 named columns', () => upload(`${wide}\n`), /line 1 has more than 100 fields/);
    await refused('1,000,000 empty names (a blank line: no header)', () => upload(`${','.repeat(999_999)}\n`), /line 1 has more than 100 fields/);
    await refused('a name, then 999,999 empty names', () => upload(`accountName${','.repeat(999_999)}\n`), /line 1 has more than 100 fields/);
    await refused('the system columns, then 1,000,000 more', () => upload(`${SYSTEM_COLUMNS},${wide}\n`), /line 1 has more than 100 fields/);
    // A good header, then a row of 1,000,000 fields.
    await refused('a row of 1,000,000 fields', () => upload(`${SYSTEM_COLUMNS}\n${wide}\n`), /line 2 has more than 8 fields, the header has 8/);
  });

  test('one line repeated up to the size cap, and a compressed body that would expand', async () => {
    const header = `${SYSTEM_COLUMNS}\n`;
    const row = 'same.name,Ann,Lee,555,ann@example.com,admin,2024-01-01,2025-01-01\n';
    const repeats = Math.floor((MAX_UPLOAD_BYTES - header.length) / row.length);
    await refused(`one row ${repeats} times`, () => upload(header + row.repeat(repeats)), /rows; a source holds at most/);
    await refused('a file of line breaks only', () => upload('\n'.repeat(MAX_UPLOAD_BYTES)), /no header row/);
    await refused(
      'one cell of the whole cap',
      () => upload(`${SYSTEM_COLUMNS}\n${'x'.repeat(MAX_UPLOAD_BYTES - 200)}\n`),
      /line 2 is longer than 24576 characters/,
    );
    await refused(
      'a quoted field that never closes',
      () => upload(`${SYSTEM_COLUMNS}\n"${'x'.repeat(MAX_UPLOAD_BYTES - 200)}`),
      /line 2 is longer than 24576 characters/,
    );
    // Request bodies are never decompressed: a gzip bomb (16 MiB of zeros, ~16 KB sent) stays small.
    const bomb = gzipSync(Buffer.alloc(MAX_UPLOAD_BYTES));
    const { payload, contentType } = multipart([{ value: bomb, type: 'application/gzip' }]);
    await refused('a gzip file part', () => post(payload, contentType), /must be a CSV file/);
    await refused('a gzip-encoded multipart body', () =>
      post(gzipSync(multipart([{ value: header + row }], 'b0undary').payload), 'multipart/form-data; boundary=b0undary', { 'content-encoding': 'gzip' }),
    );
    await refused('a gzip-encoded JSON body', () =>
      send(h, {
        method: 'POST',
        url: '/v2024/non-employee-records',
        headers: { authorization: `Bearer ${h.admin.token}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
        payload: gzipSync(Buffer.from(JSON.stringify({ a: 'x'.repeat(1_000_000) }))),
      }),
    );
  });

  test('multipart: missing and wrong boundaries, two data parts, too many parts, a file over the cap', async () => {
    const csv = `${SYSTEM_COLUMNS}\nmp.one,A,B,1,a@example.com,admin,2024-01-01,2025-01-01\n`;
    const good = multipart([{ value: csv }], 'XyZ');
    await refused('no boundary parameter', () => post(good.payload, 'multipart/form-data'));
    await refused('an empty boundary', () => post(good.payload, 'multipart/form-data; boundary='));
    await refused('another boundary', () => post(good.payload, 'multipart/form-data; boundary=AbC'), /data is required|malformed/);
    await refused('no closing boundary', () => post(good.payload.subarray(0, good.payload.length - 9), good.contentType));
    await refused('nothing after the headers', () =>
      post(Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="data"; filename="a.csv"\r\n'), good.contentType),
    );
    await refused('a body that is not multipart at all', () => post('{"data":"x"}', good.contentType));
    await refused('not multipart', () => post(csv, 'text/csv'));
    await refused('two data file parts', () => post(...(Object.values(multipart([{ value: csv }, { value: csv }])) as [Buffer, string])), /too many files/);
    await refused(
      'a data file part and a data field',
      () => post(...(Object.values(multipart([{ value: csv }, { value: csv, filename: null }])) as [Buffer, string])),
      /data must be given once/,
    );
    await refused(
      '22 parts',
      () => post(...(Object.values(multipart(Array.from({ length: 22 }, (_, i) => ({ name: `f${i}`, value: 'x', filename: null })))) as [Buffer, string])),
      /too many/,
    );
    await refused(
      'two files',
      () => post(...(Object.values(multipart([{ name: 'other', value: csv }, { value: csv }])) as [Buffer, string])),
      /too many files|data/,
    );
    await refused('a file part one byte over the cap', () => upload(Buffer.alloc(MAX_UPLOAD_BYTES + 1, 'a')), /larger than 16 MiB/);
    await refused(
      'a text field one byte over the cap',
      () => {
        const { payload, contentType } = multipart([{ value: Buffer.alloc(MAX_UPLOAD_BYTES + 1, 'a'), filename: null }]);
        return post(payload, contentType);
      },
      /larger than 16 MiB/,
    );
    await refused('a part whose headers never end', () =>
      post(Buffer.concat([Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="data"\r\nX: '), Buffer.alloc(200_000, 'h')]), good.contentType),
    );
  });

  test('generated CSV text: never a 5xx, a refusal stores nothing, an accepted upload ends COMPLETED or ERROR', async () => {
    const cell = fc.oneof(
      {
        arbitrary: fc.constantFrom(
          'gen',
          'Ann',
          'Lee',
          '555',
          'ann@example.com',
          'admin',
          '2024-01-01',
          '2025-01-01',
          '',
          ' ',
          '=1+1',
          '"',
          '""',
          ',',
          '\r\n',
          'é',
        ),
        weight: 4,
      },
      { arbitrary: nastyString.filter((s) => s.length < 2000), weight: 2 },
    );
    const csvArb = fc.oneof(
      // The real header, then rows of mostly right-sized but hostile cells.
      fc
        .tuple(fc.array(fc.array(cell, { minLength: 7, maxLength: 10 }), { maxLength: 6 }), fc.constantFrom('\n', '\r\n', '\r'))
        .map(([rows, end]) => [SYSTEM_COLUMNS, ...rows.map((r, i) => [`gen.${i}`, ...r.slice(1)].join(','))].join(end)),
      fc
        .array(
          fc.array(cell, { maxLength: 12 }).map((r) => r.join(',')),
          { maxLength: 8 },
        )
        .map((rows) => rows.join('\n')),
      fc.uint8Array({ maxLength: 256 }).map((bytes) => Buffer.from(bytes)),
    );
    await fc.assert(
      fc.asyncProperty(csvArb, fc.boolean(), async (csv, asField) => {
        const counted = await changes();
        const { payload, contentType } = multipart([{ value: csv, filename: asField ? null : 'gen.csv' }]);
        const res = await post(payload, contentType);
        const what = `upload ${JSON.stringify(String(csv).slice(0, 300))}`;
        assertDocumented(res, what);
        assert.ok(res.statusCode === 202 || res.statusCode === 400, `${what} → ${res.statusCode}`);
        if (res.statusCode === 400) {
          assert.equal(await changes(), counted, `${what}: stored`);
          return;
        }
        await bulkIdle(h);
        const done = await job(res.json().id);
        assert.ok(done.status === 'COMPLETED' || done.status === 'ERROR', JSON.stringify(done));
        const errors = await send(h, {
          method: 'GET',
          url: `/v2024/non-employee-sources/${w.sourceId}/non-employee-bulk-upload/jobs/${done.id}/errors`,
          headers: { authorization: `Bearer ${h.admin.token}` },
        });
        assert.equal(errors.statusCode, 200);
        assert.equal((parse(errors.body) as string[][])[0]!.join(','), 'line,column,value,message');
      }),
      params(150),
    );
    const exported = await send(h, {
      method: 'GET',
      url: `/v2024/non-employee-sources/${w.sourceId}/non-employees/download`,
      headers: { authorization: `Bearer ${h.admin.token}` },
    });
    assert.equal(exported.statusCode, 200);
    for (const row of parse(exported.body) as string[][])
      for (const c of row) assert.doesNotMatch(c, /^[=+\-@\t\r]/, `a live formula in the export: ${JSON.stringify(c)}`);
  });
});
