/**
 * Bulk upload: rows are bounded while they are read (more fields than the header, longer than
 * MAX_RECORD_CHARS), at the upload and again in the job, which ends ERROR naming the row.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { errorOf, harness, type Harness } from '../helpers/app.js';
import { bulkCalls, causesOf, csv, row, rows } from '../helpers/bulk.js';
import { newUuid, nowIso } from '../../src/domain/ids.js';
import { transaction } from '../../src/db/dialect.js';
import { BulkRepository, FILE_PART } from '../../src/modules/bulk/repository.js';

describe('bulk upload: row bounds', () => {
  let h: Harness;
  let bulk: ReturnType<typeof bulkCalls>;
  let sourceId: string;

  before(async () => {
    h = await harness();
    bulk = bulkCalls(h);
    sourceId = await bulk.source('bounds');
  });
  after(async () => h.close());

  const refused = async (file: string | Buffer, expected: RegExp) => {
    const res = await bulk.upload(sourceId, file);
    assert.equal(res.statusCode, 400, res.body);
    const error = errorOf(res);
    assert.equal(error.detailCode, '400.1 Bad Request Content');
    assert.match(causesOf(error), expected);
  };

  test('a row with more fields than the header is refused at the upload, naming the row', async () => {
    await refused(csv(row('a'), `${row('b')},extra`), /data is not a CSV file: line 3 has more than 9 fields, the header has 9/);
    // 16 MiB of commas on one row: refused after its tenth field.
    const commas = Buffer.concat([Buffer.from(csv(row('a'))), Buffer.alloc(16 * 1024 * 1024 - 200, ',')]);
    await refused(commas, /line 3 has more than 9 fields/);
    await refused(`${'x,'.repeat(200_000)}x\n`, /line 1 has more than 100 fields/);
  });

  test('a row longer than 24 KiB is refused at the upload, naming the row and the bound', async () => {
    await refused(csv(row('a'), row('b', `"${'x'.repeat(30_000)}"`)), /line 3 is longer than 24576 characters, the most a row may have/);
    const quoted = Buffer.concat([Buffer.from(`${csv(row('a'))}b,"`), Buffer.alloc(16 * 1024 * 1024 - 300, 'x')]);
    await refused(quoted, /line 3 is longer than 24576 characters/);
    // The longest valid values fit.
    const long = (max: number) => 'y'.repeat(max);
    const widest = `${long(255)},${long(255)},${long(255)},555,a@example.com,admin,2024-01-01,2024-12-31,"${'"'.repeat(1024)}"`;
    assert.equal((await bulk.finished(sourceId, await bulk.queued(sourceId, csv(widest)))).status, 'COMPLETED');
  });

  test('in the job, the same bounds end the job ERROR with the row named, and nothing is written', async () => {
    // A file that passed an upload check but not the job's: written straight into the queue.
    const repo = new BulkRepository(h.app.db.dialect);
    const before = await bulk.records(sourceId);
    for (const [file, expected] of [
      [csv(row('a'), `${row('b')},extra`), /line 3 has more than 9 fields, the header has 9/],
      [csv(row('a'), row('b', 'z'.repeat(30_000))), /line 3 is longer than 24576 characters/],
    ] as const) {
      const id = newUuid();
      const bytes = Buffer.from(file);
      await transaction(h.app.db.kysely, async (trx) => {
        const job = await repo.insert(trx, h.config.tenant, {
          id,
          sourceId,
          requestedBy: h.admin.identity.id,
          fileName: 'x.csv',
          fileSize: bytes.length,
          rows: 2,
          created: nowIso(),
        });
        await repo.storeFile(trx, job.seq, bytes, async () => {});
      });
      h.app.services.bulkJobs.wake();
      const job = await bulk.finished(sourceId, id);
      assert.equal(job.status, 'ERROR');
      assert.match(job.message ?? '', expected);
    }
    assert.equal(await bulk.records(sourceId), before);
  });

  test('a file of several parts is read back byte for byte, and its parts are gone once the job ends', async () => {
    const repo = new BulkRepository(h.app.db.dialect);
    // 3 MiB + 1 of three-byte characters: every part ends inside one.
    const bytes = Buffer.from(`${'€'.repeat(FILE_PART)}x`);
    const id = newUuid();
    const seq = await transaction(h.app.db.kysely, async (trx) => {
      const job = await repo.insert(trx, h.config.tenant, {
        id,
        sourceId,
        requestedBy: h.admin.identity.id,
        fileName: 'x.csv',
        fileSize: bytes.length,
        rows: 0,
        created: nowIso(),
      });
      await repo.storeFile(trx, job.seq, bytes, async () => {});
      return job.seq;
    });
    const parts = () => h.app.db.kysely.selectFrom('bulk_job_parts').select('part').where('job_seq', '=', seq).execute();
    assert.equal((await parts()).length, 4);
    let turns = 0;
    const read = await repo.file(h.app.db.kysely, seq, bytes.length, async () => {
      turns++;
    });
    assert.ok(read && Buffer.concat(read).equals(bytes), 'the file read back is the file stored');
    assert.equal(turns, 3, 'the event loop may turn between two parts');
    assert.equal(await repo.file(h.app.db.kysely, seq, bytes.length + 1, async () => {}), null, 'a file not all there is missing');
    h.app.services.bulkJobs.wake();
    assert.match((await bulk.finished(sourceId, id)).message ?? '', /line 1 is longer than 24576 characters/);
    assert.deepEqual(await parts(), []);
  });

  test('a valid file of several parts, rows and characters cut across them, imports every row as written', async () => {
    const department = 'Δ'.repeat(500);
    const file = rows(3000, 'parts.', department);
    assert.ok(Buffer.byteLength(file) > 2.5 * FILE_PART);
    const id = await bulk.queued(sourceId, file);
    const job = await bulk.finished(sourceId, id);
    assert.equal(job.status, 'COMPLETED', JSON.stringify(job));
    assert.equal(job.counts.created, 3000);
    const stored = await h.app.db.kysely.selectFrom('records').select('data').where('account_name', 'in', ['parts.0', 'parts.1499', 'parts.2999']).execute();
    assert.equal(stored.length, 3);
    for (const r of stored) assert.equal(JSON.parse(r.data).department, department);
  });

  test('a valid large file is still accepted and imported', async () => {
    const id = await bulk.queued(sourceId, rows(3000, 'big.'));
    const job = await bulk.finished(sourceId, id);
    assert.equal(job.status, 'COMPLETED', JSON.stringify(job));
    assert.equal(job.counts.created, 3000);
  });
});
