/**
 * `npx tsx bench/bulk/event-loop.ts`: the longest the bulk steps hold the event loop, in process
 * (SQLite on a temporary file; PostgreSQL when DATABASE_URL is a postgres:// URL).
 *
 * With `perf_hooks.monitorEventLoopDelay` (10 ms resolution) running, each case is measured on
 * its own: the upload of a valid 16 MiB file of 20,000 rows (10 custom attributes) and its job to
 * COMPLETED, the export of the 20,000 records, and the upload of hostile files of 16 MiB: one row
 * of 16 million commas, one quoted field, a row of 16 MiB without a comma, line breaks only.
 * Prints the longest delay of each, in ms. Not part of `npm test`.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { harness } from '../../test/helpers/app.js';
import { bulkCalls, multipart } from '../../test/helpers/bulk.js';

const MIB = 1024 * 1024;
const CUSTOM = Array.from({ length: 10 }, (_, i) => `attr${i}`);
const SYSTEM = 'accountName,firstName,lastName,phone,email,manager,startDate,endDate';

function validFile(rows: number, bytes: number): Buffer {
  const header = `${SYSTEM},${CUSTOM.join(',')}\n`;
  const fixed = 120;
  const width = Math.floor((bytes - header.length) / rows - fixed) / CUSTOM.length;
  const lines = [header];
  for (let i = 0; i < rows; i++) {
    const n = String(i).padStart(5, '0');
    const custom = CUSTOM.map((_, k) => `${k}${n}`.padEnd(Math.floor(width) - 1, 'v'));
    lines.push(`c.${n},Ada,Lovelace,555-01${n},c.${n}@example.com,admin,2024-01-01,2026-01-01,${custom.join(',')}\n`);
  }
  return Buffer.from(lines.join(''));
}

const h = await harness({}, { NELM_BULK_SOURCE_MIB: '64' });
try {
  const bulk = bulkCalls(h);
  const token = h.admin.token;
  const source = await bulk.source('event loop');
  for (const technicalName of CUSTOM.slice(1)) {
    const res = await h.request('POST', `/v2024/non-employee-sources/${source}/schema-attributes`, token, {
      type: 'TEXT',
      label: technicalName,
      technicalName,
    });
    assert.equal(res.statusCode, 200, res.body);
  }
  await h.request('PATCH', `/v2024/non-employee-sources/${source}/schema-attributes`, token, []);
  // The first custom attribute of bulkCalls.source is `department`: the file's header names it.
  CUSTOM[0] = 'department';

  const measure = async (name: string, run: () => Promise<unknown>) => {
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    const started = performance.now();
    await run();
    histogram.disable();
    const ms = (ns: number) => (ns / 1e6).toFixed(1);
    console.log(
      `${name.padEnd(52)} ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s   max delay ${ms(histogram.max).padStart(7)} ms   p99 ${ms(histogram.percentile(99))} ms`,
    );
    return histogram.max / 1e6;
  };
  // Uploads go over a socket, in the chunks a network delivers (app.inject would hand the parser
  // all 16 MiB at once). Their bodies are made before the measure: it is the server's work that counts.
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = h.app.server.address() as { port: number };
  // node:http writes the body to the socket as it is (fetch would copy 16 MiB twice on this thread).
  const upload = ({ payload, contentType }: ReturnType<typeof multipart>) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `/v2024/non-employee-sources/${source}/non-employee-bulk-upload`,
          headers: { authorization: `Bearer ${token}`, 'content-type': contentType, 'content-length': payload.length },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  const refused = (file: Buffer) => {
    const body = multipart(file);
    return async () => {
      const res = await upload(body);
      assert.equal(res.status, 400, res.body.slice(0, 300));
    };
  };

  const file = validFile(20_000, 16 * MIB - 4096);
  console.log(`${h.config.engine}: valid file ${(file.length / MIB).toFixed(2)} MiB, 20,000 rows`);
  const header = `${SYSTEM},${CUSTOM.join(',')}\n`;
  const worst = [
    await (async () => {
      let id = '';
      const body = multipart(file);
      const checked = await measure('upload check of the valid file (202)', async () => {
        const res = await upload(body);
        assert.equal(res.status, 202, res.body.slice(0, 300));
        id = JSON.parse(res.body).id;
      });
      const job = await measure('its job to COMPLETED', async () => assert.equal((await bulk.finished(source, id, 600_000)).status, 'COMPLETED'));
      return Math.max(checked, job);
    })(),
    await measure('export of the 20,000 records', async () => {
      const res = await h.request('GET', `/v2024/non-employee-sources/${source}/non-employees/download`, token);
      assert.equal(res.statusCode, 200);
    }),
    await measure('hostile: one row of 16 M commas (400)', refused(Buffer.concat([Buffer.from(header), Buffer.alloc(16 * MIB - 1024, ',')]))),
    await measure('hostile: one quoted field of 16 MiB (400)', refused(Buffer.concat([Buffer.from(`${header}"`), Buffer.alloc(16 * MIB - 1024, 'x')]))),
    await measure('hostile: a row of 16 MiB without a comma (400)', refused(Buffer.concat([Buffer.from(header), Buffer.alloc(16 * MIB - 1024, 'x')]))),
    await measure('hostile: 16 MiB of line breaks (400)', refused(Buffer.alloc(16 * MIB - 1024, '\n'))),
  ];
  console.log(`longest delay over all cases: ${Math.max(...worst).toFixed(1)} ms`);
} finally {
  await h.close();
}
