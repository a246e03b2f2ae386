/**
 * `nelm restore` alone on its database (docs/operations.md#backup-and-restore):
 * - a restore into a database that holds data is refused before anything changes: its migrations
 *   stay as they were, though the backup's schema is newer;
 * - a server starting while a restore runs waits for it (PostgreSQL: the start's advisory lock)
 *   or is refused (SQLite: the file's owner lock), and then comes up on the restored data, migrated
 *   past the backup's schema.
 * The restore reads a named pipe the test writes, so it is held in the middle of its load for as
 * long as the test needs. Both engines: SQLite by default, PostgreSQL when DATABASE_URL says so.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { constants, createGzip, gunzipSync, gzipSync } from 'node:zlib';
import { sql } from 'kysely';
import { buildApp } from '../../src/app.js';
import type { Config } from '../../src/config/config.js';
import { appliedMigrations } from '../../src/db/backup.js';
import { migrationNames, migrator } from '../../src/db/migrate.js';
import { openDatabase } from '../../src/db/open.js';
import { DatabaseLockedError } from '../../src/db/sqlite.js';
import { writeBackup } from '../../src/modules/backup/service.js';
import { ADMIN, dropSchema, PG_URL, testConfig } from '../helpers/app.js';
import { CLI } from '../helpers/cli.js';
import { until } from '../helpers/webhooks.js';

const run = promisify(execFile);
const KEK = randomBytes(32).toString('hex');
const LATEST = migrationNames().at(-1)!;
/** The schema a backup of the previous version names: the newest migration before the scheduled exports' leases. */
const PREVIOUS = '20261214_0021_identity_disabled';

const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-restore-lock-'));
const configs: Config[] = [];
after(async () => {
  for (const config of configs) await dropSchema(config);
  rmSync(dir, { recursive: true, force: true });
});

/** A database of its own: a SQLite file, or a PostgreSQL schema. */
function database(name: string): { config: Config; env: Record<string, string> } {
  const config = testConfig({}, { DATABASE_URL: PG_URL ?? path.join(dir, `${name}.sqlite`), NELM_KEY_ENCRYPTION_KEY: KEK });
  configs.push(config);
  const env = {
    DATABASE_URL: config.databaseUrl,
    ...(config.databaseSchema ? { NELM_DATABASE_SCHEMA: config.databaseSchema } : {}),
    NELM_KEY_ENCRYPTION_KEY: KEK,
    NELM_LOG_LEVEL: 'silent',
  };
  return { config, env };
}

async function migrations(config: Config): Promise<string[]> {
  const db = await openDatabase(config);
  try {
    return await appliedMigrations(db.kysely, db);
  } finally {
    await db.close();
  }
}

/**
 * A backup of a database with a source, as the previous version wrote it: its schema is
 * PREVIOUS, without the tables and columns of the migrations after it (empty in this database).
 */
async function previousVersionBackup(): Promise<string> {
  const { config } = database('origin');
  const app = await buildApp(config, { logger: false });
  const file = path.join(dir, 'origin.nelm.gz');
  try {
    await app.ready();
    const admin = (await app.services.directory.listIdentities(config.tenant, 10, 0)).find((i) => i.alias === 'admin')!;
    const principal = { tenantId: config.tenant, identityId: admin.id, alias: 'admin', clientId: '', admin: true, rights: new Set<never>() };
    await app.services.sources.create(principal, { name: 'Contractors', description: 'restored', owner: { id: admin.id } });
    await writeBackup(app.db, file);
  } finally {
    await app.close();
  }
  const lines = gunzipSync(readFileSync(file)).toString('utf8').trimEnd().split('\n');
  const header = JSON.parse(lines[0]!) as { migration: string; tables: { name: string; columns: string[]; rows: number }[] };
  assert.equal(header.migration, LATEST);
  header.migration = PREVIOUS;
  header.tables = header.tables.filter((t) => t.name !== 'export_tick_sources');
  const ticks = header.tables.find((t) => t.name === 'export_ticks')!;
  assert.equal(ticks.rows, 0);
  ticks.columns = ticks.columns.filter((c) => c !== 'lease_until' && c !== 'attempts');
  const body = lines.slice(1).filter((line) => line !== JSON.stringify({ table: 'export_tick_sources' }));
  writeFileSync(file, gzipSync(`${[JSON.stringify(header), ...body].join('\n')}\n`));
  return file;
}

describe('nelm restore, alone on its database', () => {
  let backup: string;

  test('a database that holds data is refused before any migration: its schema stays as it was', async () => {
    backup ??= await previousVersionBackup();
    const { config, env } = database('holds-data');
    const db = await openDatabase(config);
    try {
      assert.equal((await migrator(db.kysely, db.engine, db.schema).migrateTo('20261212_0019_export_ticks')).error, undefined);
      await sql`insert into tenants (id, name, source_count, created) values ('default', 'default', 0, '2026-12-07T00:00:00.000Z')`.execute(db.kysely);
    } finally {
      await db.close();
    }
    const before = await migrations(config);
    assert.equal(before.at(-1), '20261212_0019_export_ticks');
    const refused = await run(process.execPath, [...CLI, 'restore', backup], { env: { ...process.env, ...env } }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /the database is not empty \(tenants holds 1 rows\)/);
    assert.deepEqual(await migrations(config), before);
  });

  test(`a server starting during a restore ${PG_URL ? 'waits for it' : 'is refused'}, then comes up on the restored, migrated data`, async () => {
    backup ??= await previousVersionBackup();
    const { config, env } = database('restored');
    const pipe = path.join(dir, 'restore.pipe');
    rmSync(pipe, { force: true });
    execFileSync('mkfifo', [pipe]);
    const restore = spawn(process.execPath, [...CLI, 'restore', pipe], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    restore.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    restore.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => restore.once('exit', resolve));
    // The header first: the restore migrates to the backup's schema, begins its transaction and
    // waits for the rows.
    const [head, ...rest] = gunzipSync(readFileSync(backup)).toString('utf8').trimEnd().split('\n');
    const gzip = createGzip();
    gzip.pipe(createWriteStream(pipe));
    gzip.write(`${head}\n`);
    await new Promise<void>((resolve) => gzip.flush(constants.Z_SYNC_FLUSH, () => resolve()));
    let app: Awaited<ReturnType<typeof buildApp>> | undefined;
    try {
      await until('the restore migrated to the backup schema', async () => (await migrations(config)).at(-1) === PREVIOUS, 20_000);
      let started = false;
      const starting = buildApp(config, { logger: false }).then((built) => {
        started = true;
        return built;
      });
      if (PG_URL) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        assert.equal(started, false, 'the server waits for the restore');
      } else {
        await assert.rejects(starting, DatabaseLockedError);
      }
      gzip.end(`${rest.join('\n')}\n`);
      assert.equal(await exited, 0, output);
      assert.match(output, /^restored: \d+ rows/m);
      app = PG_URL ? await starting : await buildApp(config, { logger: false });
      await app.ready();
      const token = await app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: ADMIN.clientId, client_secret: ADMIN.clientSecret }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(token.statusCode, 200, token.body);
      const sources = await app.inject({
        url: '/v2024/non-employee-sources',
        headers: { authorization: `Bearer ${(token.json() as { access_token: string }).access_token}` },
      });
      assert.deepEqual(
        (sources.json() as { name: string; description: string }[]).map((s) => [s.name, s.description]),
        [['Contractors', 'restored']],
      );
      assert.deepEqual(await migrations(config), migrationNames());
    } finally {
      if (restore.exitCode === null) restore.kill('SIGKILL');
      gzip.destroy();
      await app?.close();
    }
  });
});
