/**
 * Bulk upload: rows are bounded while they are read (more fields than the header, longer than
 * MAX_RECORD_CHARS), at the upload and again in the job, which ends ERROR naming the row.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { errorOf, harness, type Harness } from '../helpers/app.js';
import { bulkCalls, causesOf, csv, row, rows } from '../helpers/bulk.js';
import { newUuid, nowIso } from '../../src/domain/ids.js';
import { BulkRepository } from '../../src/modules/bulk/repository.js';

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
      await repo.insert(h.app.db.kysely, h.config.tenant, {
        id,
        sourceId,
        requestedBy: h.admin.identity.id,
        fileName: 'x.csv',
        file: Buffer.from(file),
        rows: 2,
        created: nowIso(),
      });
      h.app.services.bulkJobs.wake();
      const job = await bulk.finished(sourceId, id);
      assert.equal(job.status, 'ERROR');
      assert.match(job.message ?? '', expected);
    }
    assert.equal(await bulk.records(sourceId), before);
  });

  test('a valid large file is still accepted and imported', async () => {
    const id = await bulk.queued(sourceId, rows(3000, 'big.'));
    const job = await bulk.finished(sourceId, id);
    assert.equal(job.status, 'COMPLETED', JSON.stringify(job));
    assert.equal(job.counts.created, 3000);
  });
});
