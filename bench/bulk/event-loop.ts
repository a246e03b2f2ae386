/**
 * `npx tsx bench/bulk/event-loop.ts`: the longest the bulk steps hold the event loop, in process
 * (SQLite on a temporary file; PostgreSQL when DATABASE_URL is a postgres:// URL), with the node
 * flags `npm start` gives the server (it starts itself again with them when they are missing).
 *
 * Each case is measured on its own: the upload of a valid 16 MiB file of 20,000 rows (10 custom
 * attributes) over a socket and its job to COMPLETED (20,000 records created), the same file
 * again (20,000 unchanged) and changed (20,000 updated), the export of the 20,000 records, and the
 * upload of hostile files of 16 MiB: one row of 16 million commas, one quoted field, a row of
 * 16 MiB without a comma, line breaks only; before each upload and the export, what the case
 * before set off in the background is let finish. Stalls of the event loop (a 1 ms timer that comes late) are named
 * after the bulk step that ran during them (stalls.ts). Prints, per case, the
 * longest stall of each step, and the longest of each step over all cases. Not part of `npm test`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { harness } from '../../test/helpers/app.js';
import { bulkCalls, multipart } from '../../test/helpers/bulk.js';
import { SERVER_NODE_FLAGS } from '../lib/server.js';
import { type Stall, watchStalls } from './stalls.js';

if (!SERVER_NODE_FLAGS.every((flag) => process.execArgv.includes(flag))) {
  const again = spawnSync(process.execPath, [...SERVER_NODE_FLAGS, ...process.execArgv, import.meta.filename], { stdio: 'inherit' });
  process.exit(again.status ?? 1);
}

const MIB = 1024 * 1024;
const CUSTOM = Array.from({ length: 10 }, (_, i) => `attr${i}`);
const SYSTEM = 'accountName,firstName,lastName,phone,email,manager,startDate,endDate';

/** A file of `rows` rows of about `bytes` in all; the records end far ahead (nothing due for the lifecycle). */
function validFile(rows: number, bytes: number, variant = 'v'): Buffer {
  const header = `${SYSTEM},${CUSTOM.join(',')}\n`;
  const fixed = 120;
  const width = Math.floor((bytes - header.length) / rows - fixed) / CUSTOM.length;
  const lines = [header];
  for (let i = 0; i < rows; i++) {
    const n = String(i).padStart(5, '0');
    const custom = CUSTOM.map((_, k) => `${k}${n}`.padEnd(Math.floor(width) - 1, variant));
    lines.push(`c.${n},Ada,Lovelace,555-01${n},c.${n}@example.com,admin,2024-01-01,2096-01-01,${custom.join(',')}\n`);
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
  // The export is read over the socket too, and dropped as it comes.
  const download = () =>
    new Promise<number>((resolve, reject) => {
      const path = `/v2024/non-employee-sources/${source}/non-employees/download`;
      http
        .get({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${token}` } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
        .on('error', reject);
    });
  const refused = (file: Buffer) => {
    const body = multipart(file);
    return async () => {
      const res = await upload(body);
      assert.equal(res.status, 400, res.body.slice(0, 300));
    };
  };
  let jobId = '';
  const accepted = (file: Buffer) => {
    const body = multipart(file);
    return async () => {
      const res = await upload(body);
      assert.equal(res.status, 202, res.body.slice(0, 300));
      jobId = JSON.parse(res.body).id;
    };
  };
  const job = (counts: Record<string, number>) => async () => {
    const done = await bulk.finished(source, jobId, 600_000);
    assert.equal(done.status, 'COMPLETED');
    for (const [count, n] of Object.entries(counts)) assert.equal((done.counts as Record<string, number>)[count], n, count);
  };

  const file = validFile(20_000, 16 * MIB - 4096);
  const changed = validFile(20_000, 16 * MIB - 4096, 'w');
  const header = `${SYSTEM},${CUSTOM.join(',')}\n`;
  const cases: [string, () => Promise<unknown>][] = [
    ['upload of the valid file (202)', accepted(file)],
    ['its job: 20,000 created', job({ created: 20_000 })],
    ['the same file again (202)', accepted(file)],
    ['its job: 20,000 unchanged', job({ unchanged: 20_000 })],
    ['the file changed (202)', accepted(changed)],
    ['its job: 20,000 updated', job({ updated: 20_000 })],
    ['export of the 20,000 records', async () => assert.equal(await download(), 200)],
    ['hostile: one row of 16 M commas (400)', refused(Buffer.concat([Buffer.from(header), Buffer.alloc(16 * MIB - 1024, ',')]))],
    ['hostile: one quoted field of 16 MiB (400)', refused(Buffer.concat([Buffer.from(`${header}"`), Buffer.alloc(16 * MIB - 1024, 'x')]))],
    ['hostile: a row of 16 MiB without a comma (400)', refused(Buffer.concat([Buffer.from(header), Buffer.alloc(16 * MIB - 1024, 'x')]))],
    ['hostile: 16 MiB of line breaks (400)', refused(Buffer.alloc(16 * MIB - 1024, '\n'))],
  ];
  console.log(`${h.config.engine}: valid file ${(file.length / MIB).toFixed(2)} MiB, 20,000 rows; node ${process.execArgv.join(' ')}`);
  // What a case sets off in the background (the event consumers reading 20,000 record events, say)
  // is let finish before the next case: the loop has been free for a second (30 s at most).
  const settle = async () => {
    for (let quiet = 0, waited = 0; quiet < 1000 && waited < 30_000; ) {
      const asked = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 10));
      const late = performance.now() - asked - 10;
      quiet = late > 3 ? 0 : quiet + 10;
      waited += 10 + late;
    }
  };
  const watch = await watchStalls();
  const windows: [string, number, number][] = [];
  for (const [name, run] of cases) {
    // A job runs as soon as its upload is in: it is measured from there.
    if (!name.startsWith('its job')) await settle();
    const from = Number(process.hrtime.bigint() / 1000n);
    await run();
    windows.push([name, from, Number(process.hrtime.bigint() / 1000n)]);
  }
  const stalls = (await watch.stop()).filter((s) => windows.some(([, from, to]) => s.at >= from && s.at < to));
  const longest = (of: Stall[]) => {
    const byStep = new Map<string, Stall>();
    for (const s of of) if (!byStep.has(s.step) || byStep.get(s.step)!.ms < s.ms) byStep.set(s.step, s);
    return [...byStep.values()].sort((a, b) => b.ms - a.ms);
  };
  const shown = (s: Stall) => `${s.step} ${s.ms.toFixed(1)}${s.gcMs >= 1 ? ` (GC ${s.gcMs.toFixed(0)})` : ''}`;
  for (const [name, from, to] of windows) {
    const mine = stalls.filter((s) => s.at >= from && s.at < to);
    console.log(`${name.padEnd(48)} ${((to - from) / 1e6).toFixed(1).padStart(5)} s   ${longest(mine).slice(0, 4).map(shown).join(', ')}`);
  }
  console.log('\nlongest stall of each step over all cases, ms (of which garbage collection):');
  for (const s of longest(stalls)) console.log(`  ${shown(s)}`);
  // BENCH_STALLS_OVER=20: what ran during every stall of 20 ms or more.
  const over = Number(process.env.BENCH_STALLS_OVER ?? Number.POSITIVE_INFINITY);
  for (const s of stalls.filter((x) => x.ms >= over)) console.log(`\n${shown(s)}\n    ${s.top.join('\n    ')}`);
} finally {
  await h.close();
}
