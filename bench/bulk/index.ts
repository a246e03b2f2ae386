/**
 * `npm run bench -- bulk [rows]`: bulk import and export through a real server.
 *
 * For each engine (SQLite on a temp file; PostgreSQL too when DATABASE_URL is a postgres:// URL):
 * - a server child process, a source with 10 custom attributes, a warm-up import of 1,000 rows;
 * - import: the time from the POST of a 20,000-row file to the job's COMPLETED (polled every 5 ms)
 *   into a new source, with the GETs below going on, and alone (into another new source, no GETs:
 *   what the server answers meanwhile is what the first import gives up); export: the time to
 *   download its 20,000 records;
 * - the raw floor, in this process: csv-parse of the same file plus the same rows inserted in one
 *   transaction with the same driver into a new database (floor.ts);
 * - each measured BENCH_REPEAT times (default 3), interleaved; the table shows medians;
 * - during each import and each export, a GET of one record of another source, again and again
 *   (2 ms apart): how long the server makes a reader wait meanwhile (median and longest);
 * - the server's RSS before the first round; the largest growth of its anonymous RSS (RssAnon:
 *   the SQLite file is memory-mapped, see server.ts memoryOf) during an import or an export over
 *   the value just before it (sampled every 5 ms from /proc/<pid>/status); its VmHWM (peak RSS
 *   since it started) at the end.
 * Prints a table with the ratios; writes it to bench/results/bulk-<engine>.json too.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CUSTOM, csvFile } from './data.js';
import { postgresFloor, sqliteFloor } from './floor.js';
import { memoryOf, sampleRss, startServer, type BenchServer } from './server.js';

const ROWS = Number(process.argv[2] ?? 20_000);
const MB = 1024 * 1024;

interface Result {
  engine: string;
  rows: number;
  fileMiB: number;
  importMs: number;
  /** The import with no GETs going on. */
  importAloneMs: number;
  floorMs: number;
  exportMs: number;
  rssBeforeMiB: number;
  importPeakGrowthMiB: number;
  exportPeakGrowthMiB: number;
  hwmMiB: number;
  /** GETs of one record during the imports: how many, the median and the longest, ms. */
  getsDuringImport: number;
  getDuringImportP50Ms: number;
  getDuringImportMaxMs: number;
  /** The same during the exports. */
  getsDuringExport: number;
  getDuringExportMaxMs: number;
}

async function newSource(server: BenchServer, name: string): Promise<string> {
  const admin = (await server.call('GET', '/admin/v1/identities?limit=250')) as { id: string; alias: string }[];
  const owner = admin.find((i) => i.alias === 'admin')!;
  const source = (await server.call('POST', '/v2024/non-employee-sources', { name, description: 'bench', owner: { id: owner.id } })) as { id: string };
  for (const technicalName of CUSTOM) {
    await server.call('POST', `/v2024/non-employee-sources/${source.id}/schema-attributes`, { type: 'TEXT', label: technicalName, technicalName });
  }
  return source.id;
}

/** Uploads and waits for the job's end; the elapsed milliseconds. */
async function importFile(server: BenchServer, sourceId: string, file: Buffer): Promise<number> {
  const t0 = performance.now();
  const form = new FormData();
  form.set('data', new Blob([file], { type: 'text/csv' }), 'bench.csv');
  const response = await fetch(`${server.baseUrl}/v2024/non-employee-sources/${sourceId}/non-employee-bulk-upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}` },
    body: form,
  });
  if (response.status !== 202) throw new Error(`upload → ${response.status}: ${await response.text()}`);
  const job = (await response.json()) as { id: string };
  for (;;) {
    const state = (await server.call('GET', `/v2024/non-employee-sources/${sourceId}/non-employee-bulk-upload/jobs/${job.id}`)) as {
      status: string;
      counts: unknown;
      message: string;
    };
    if (state.status === 'COMPLETED') return performance.now() - t0;
    if (state.status === 'ERROR') throw new Error(`the job failed: ${state.message}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function exportSource(server: BenchServer, sourceId: string): Promise<{ ms: number; lines: number }> {
  const t0 = performance.now();
  const response = await fetch(`${server.baseUrl}/v2024/non-employee-sources/${sourceId}/non-employees/download`, {
    headers: { authorization: `Bearer ${server.token}` },
  });
  const text = await response.text();
  const ms = performance.now() - t0;
  if (response.status !== 200) throw new Error(`export → ${response.status}`);
  return { ms, lines: text.split('\n').length - 2 };
}

/** GETs `url`, one after another 2 ms apart, until `stop`; resolves to each one's milliseconds. */
function probeGets(server: BenchServer, url: string): { stop(): Promise<number[]> } {
  let running = true;
  const times: number[] = [];
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      const response = await fetch(`${server.baseUrl}${url}`, { headers: { authorization: `Bearer ${server.token}` } });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`GET ${url} → ${response.status}`);
      times.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  // A failure is thrown by stop(), so that the server is stopped on the way out.
  loop.catch(() => {});
  return {
    stop: async () => {
      running = false;
      await loop;
      return times;
    },
  };
}

const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function run(engine: 'sqlite' | 'postgres', env: Record<string, string>, floor: (file: Buffer) => Promise<number>): Promise<Result> {
  const server = await startServer(env);
  try {
    const manager = 'admin';
    const file = csvFile(ROWS, manager);
    // Warm-up: the code paths run once before anything is measured, here and in the floor.
    const warm = await newSource(server, 'warm-up');
    await importFile(server, warm, csvFile(1000, manager));
    await exportSource(server, warm);
    await floor(csvFile(1000, manager));
    const filter = encodeURIComponent(`sourceId eq "${warm}"`);
    const [probed] = (await server.call('GET', `/v2024/non-employee-records?limit=1&filters=${filter}`)) as { id: string }[];
    const probeUrl = `/v2024/non-employee-records/${probed!.id}`;
    const getTimes: number[] = [];
    const exportGetTimes: number[] = [];

    const before = memoryOf(server.pid).rss;
    const imports: number[] = [];
    const alone: number[] = [];
    const exports: number[] = [];
    const floors: number[] = [];
    let importGrowth = 0;
    let exportGrowth = 0;
    for (let i = 0; i < REPEAT; i++) {
      const sourceId = await newSource(server, `bench-${i}`);
      const importBefore = memoryOf(server.pid).anon;
      let stop = sampleRss(server.pid);
      const probe = probeGets(server, probeUrl);
      imports.push(await importFile(server, sourceId, file));
      importGrowth = Math.max(importGrowth, stop() - importBefore);
      getTimes.push(...(await probe.stop()));

      const exportBefore = memoryOf(server.pid).anon;
      stop = sampleRss(server.pid);
      const exportProbe = probeGets(server, probeUrl);
      const exported = await exportSource(server, sourceId);
      exportGrowth = Math.max(exportGrowth, stop() - exportBefore);
      exportGetTimes.push(...(await exportProbe.stop()));
      if (exported.lines !== ROWS) throw new Error(`the export has ${exported.lines} rows, expected ${ROWS}`);
      exports.push(exported.ms);
      floors.push(await floor(file));
      const aloneId = await newSource(server, `bench-alone-${i}`);
      alone.push(await importFile(server, aloneId, file));
      // Each source is full: the next round gets new ones.
      await server.call('DELETE', `/v2024/non-employee-sources/${sourceId}`);
      await server.call('DELETE', `/v2024/non-employee-sources/${aloneId}`);
    }
    const hwm = memoryOf(server.pid).hwm;
    return {
      engine,
      rows: ROWS,
      fileMiB: file.length / MB,
      importMs: median(imports),
      importAloneMs: median(alone),
      floorMs: median(floors),
      exportMs: median(exports),
      rssBeforeMiB: before / MB,
      importPeakGrowthMiB: importGrowth / MB,
      exportPeakGrowthMiB: exportGrowth / MB,
      hwmMiB: hwm / MB,
      getsDuringImport: getTimes.length,
      getDuringImportP50Ms: median(getTimes),
      getDuringImportMaxMs: Math.max(...getTimes),
      getsDuringExport: exportGetTimes.length,
      getDuringExportMaxMs: Math.max(...exportGetTimes),
    };
  } finally {
    await server.stop();
  }
}

function table(results: Result[]): string {
  const f = (n: number, d = 0) => n.toFixed(d);
  const lines = [
    '| engine | rows | file | import (POST → COMPLETED) | raw floor (csv-parse + insert) | import / floor | import alone (no GETs) / floor | export | server RSS before | anon RSS growth, import | anon RSS growth, export | VmHWM | GET during import (median / longest) | longest GET during export |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.engine} | ${r.rows} | ${f(r.fileMiB, 1)} MiB | ${f(r.importMs)} ms | ${f(r.floorMs)} ms | ${f(r.importMs / r.floorMs, 2)}× | ${f(r.importAloneMs)} ms, ${f(r.importAloneMs / r.floorMs, 2)}× | ${f(r.exportMs)} ms | ${f(r.rssBeforeMiB)} MiB | ${f(r.importPeakGrowthMiB)} MiB | ${f(r.exportPeakGrowthMiB)} MiB | ${f(r.hwmMiB)} MiB | ${f(r.getDuringImportP50Ms, 1)} / ${f(r.getDuringImportMaxMs, 1)} ms (${r.getsDuringImport} GETs) | ${f(r.getDuringExportMaxMs, 1)} ms (${r.getsDuringExport} GETs) |`,
    );
  }
  return lines.join('\n');
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-bench-'));
const results: Result[] = [];
try {
  results.push(await run('sqlite', { DATABASE_URL: path.join(dir, 'server.sqlite') }, (file) => sqliteFloor(file, dir)));
  const url = process.env.DATABASE_URL;
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    const schema = `bench_${randomBytes(4).toString('hex')}`;
    try {
      results.push(await run('postgres', { DATABASE_URL: url, NELM_DATABASE_SCHEMA: schema }, (file) => postgresFloor(file, url)));
    } finally {
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`\nnode ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}\n`);
console.log(table(results));
const out = path.resolve(import.meta.dirname, '..', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, 'bulk.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2));
