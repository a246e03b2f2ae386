/**
 * Scheduled exports on a schedule of every second: each tick writes each source's CSV (the bytes of
 * the download endpoint) to `<dir>/<source-id>/<timestamp>.csv`, keeps the newest NELM_EXPORT_KEEP,
 * and appends `export.completed` (or `export.failed`, for a source whose folder cannot be made).
 * On PostgreSQL two apps run on one schema, and each tick is still done once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { exportFileName } from '../../src/modules/exports/scheduler.js';
import { PG_URL } from '../helpers/app.js';
import { adminToken, startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/webhooks.js';

interface EventJson {
  type: string;
  target: { type: string; id: string; sourceId: string | null };
  data: { object: { id: string; name: string }; file: string; rows?: number; bytes?: number; error?: string };
}

describe('scheduled exports', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-exports-'));
  let server: TestServer;
  let second: FastifyInstance | undefined;
  let token: string;
  let sourceId: string;
  let brokenId: string;

  const call = async <T>(method: string, url: string, body?: unknown): Promise<{ status: number; text: string; json: T }> => {
    const response = await fetch(`${server.baseUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, text, json: (response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined) as T };
  };
  const exportEvents = async (): Promise<EventJson[]> =>
    (await call<EventJson[]>('GET', `/admin/v1/audit-events?limit=250&filters=${encodeURIComponent('type sw "export."')}`)).json;

  before(async () => {
    server = await startTestServer({}, { NELM_EXPORT_SCHEDULE: '* * * * * *', NELM_EXPORT_DIR: dir, NELM_EXPORT_KEEP: '2' });
    // Another process on the same PostgreSQL schema: the same configuration, its own scheduler.
    if (PG_URL) {
      second = await buildApp(server.config, { logger: false });
      await second.ready();
    }
    token = await adminToken(server);
    const me = (await call<{ id: string; alias: string }[]>('GET', '/admin/v1/identities')).json.find((i) => i.alias === 'admin');
    assert.ok(me);
    const made = await call<{ id: string }>('POST', '/v2024/non-employee-sources', { name: 'Exported', description: 'x', owner: { id: me.id } });
    assert.equal(made.status, 200, made.text);
    sourceId = made.json.id;
    const broken = await call<{ id: string }>('POST', '/v2024/non-employee-sources', { name: 'Broken', description: 'x', owner: { id: me.id } });
    brokenId = broken.json.id;
    // A file where the source's folder must go: its exports fail.
    writeFileSync(path.join(dir, brokenId), 'in the way');
    for (const name of ['ann', 'bob', 'cy "the quoted", name']) {
      const res = await call('POST', '/v2024/non-employee-records', {
        sourceId,
        accountName: name.replace(/\W/g, ''),
        firstName: name,
        lastName: 'Lee',
        email: `${name.replace(/\W/g, '')}@example.com`,
        phone: '555',
        manager: 'admin',
        startDate: '2026-01-01T00:00:00Z',
        endDate: '2035-01-01T00:00:00Z',
      });
      assert.equal(res.status, 200, res.text);
    }
  });

  after(async () => {
    await second?.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('each tick writes each source once, the bytes of the download; the newest 2 files are kept', async () => {
    const completed = await until(
      'three ticks exported',
      async () => {
        const events = (await exportEvents()).filter((e) => e.type === 'export.completed' && e.target.id === sourceId);
        // Ticks that ran while the records were made exported fewer.
        return events.filter((e) => e.data.rows === 3).length >= 3 && events;
      },
      20_000,
    );
    // Once per tick, whichever process took it.
    const files = completed.map((e) => e.data.file);
    assert.equal(new Set(files).size, files.length, `a tick exported twice: ${files.join(', ')}`);
    for (const e of completed) {
      assert.equal(e.target.type, 'source');
      assert.equal(e.data.object.name, 'Exported');
      assert.ok(e.data.rows !== undefined && e.data.rows <= 3);
      assert.match(e.data.file, new RegExp(`^${sourceId}/\\d{8}T\\d{6}Z\\.csv$`));
    }
    const kept = readdirSync(path.join(dir, sourceId)).sort();
    assert.ok(kept.length <= 2 && kept.length >= 1, kept.join(', '));
    for (const f of kept) assert.match(f, /^\d{8}T\d{6}Z\.csv$/);
    const newest = path.join(dir, sourceId, kept.at(-1)!);
    const download = await call('GET', `/v2024/non-employee-sources/${sourceId}/non-employees/download`);
    assert.equal(readFileSync(newest, 'utf8'), download.text);
    const event = completed.find((e) => e.data.file === `${sourceId}/${kept.at(-1)}`);
    if (event) {
      assert.equal(event.data.bytes, statSync(newest).size);
      assert.equal(event.data.rows, 3);
    }
  });

  test('a source whose export cannot be written: export.failed with the reason, the others go on', async () => {
    const failed = await until(
      'an export.failed event',
      async () => (await exportEvents()).find((e) => e.type === 'export.failed' && e.target.id === brokenId),
      20_000,
    );
    assert.equal(failed.data.object.name, 'Broken');
    assert.match(failed.data.error ?? '', /EEXIST|ENOTDIR|exists|not a directory/);
    assert.equal(readFileSync(path.join(dir, brokenId), 'utf8'), 'in the way');
  });

  test('file names: the tick in ISO 8601 basic format, UTC', () => {
    assert.equal(exportFileName(new Date('2026-12-07T02:00:05.000Z')), '20261207T020005Z.csv');
  });

  test('configuration: a schedule needs a folder and cron syntax; a folder needs a schedule', () => {
    const problems = (env: NodeJS.ProcessEnv) => {
      try {
        loadConfig({ DATABASE_URL: ':memory:', ...env });
        return '';
      } catch (error) {
        assert.ok(error instanceof ConfigError);
        return (error as Error).message;
      }
    };
    assert.match(problems({ NELM_EXPORT_SCHEDULE: 'every day', NELM_EXPORT_DIR: dir }), /NELM_EXPORT_SCHEDULE must be a cron expression/);
    assert.match(problems({ NELM_EXPORT_SCHEDULE: '0 2 * * *' }), /NELM_EXPORT_SCHEDULE needs NELM_EXPORT_DIR/);
    assert.match(problems({ NELM_EXPORT_DIR: dir }), /NELM_EXPORT_DIR is set without NELM_EXPORT_SCHEDULE/);
    assert.match(problems({ NELM_EXPORT_SCHEDULE: '0 2 * * *', NELM_EXPORT_DIR: dir, NELM_EXPORT_KEEP: '0' }), /NELM_EXPORT_KEEP/);
    assert.equal(loadConfig({ DATABASE_URL: ':memory:', NELM_EXPORT_SCHEDULE: '0 2 * * *', NELM_EXPORT_DIR: dir }).exports?.keep, 7);
  });
});
