/**
 * `nelm audit list` and `nelm audit verify` as users run them, on a real database: verify names
 * the first event that does not match after a row is edited with SQL (its data, its hash) or
 * deleted, and exits 1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/config.js';
import { type Db, transaction } from '../../src/db/dialect.js';
import { openDatabase } from '../../src/db/open.js';
import { createCore } from '../../src/services.js';
import { dropSchema, PG_URL, testConfig } from '../helpers/app.js';
import { CLI } from '../helpers/cli.js';

const run = promisify(execFile);

describe('nelm audit', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-audit-'));
  const schema = testConfig().databaseSchema;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: PG_URL ?? path.join(dir, 'nelm.sqlite'),
    ...(schema ? { NELM_DATABASE_SCHEMA: schema } : {}),
    NELM_LOG_LEVEL: 'warn',
    NELM_SECRET_HASH_COST: '10',
  };
  delete env.NELM_ADMIN_CLIENT_ID;
  delete env.NELM_ADMIN_CLIENT_SECRET;
  const config = loadConfig(env);
  const nelm = (...args: string[]) => run(process.execPath, [...CLI, ...args], { env, cwd: dir });
  /** The command's output and exit code, whether it succeeded or not. */
  const outcome = (...args: string[]) =>
    nelm(...args).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
  let db: Db;
  const ids: string[] = [];
  const sql = () => db.kysely.updateTable('events').where('tenant_id', '=', config.tenant);

  before(async () => {
    await nelm('migrate');
    db = await openDatabase(config);
    const { services } = await createCore(config, db);
    // The test's own chain, without the events of the admin's bootstrap (identity, API client).
    await db.kysely.deleteFrom('events').where('tenant_id', '=', config.tenant).execute();
    await db.kysely.deleteFrom('event_chains').where('tenant_id', '=', config.tenant).execute();
    const actor = { id: '0123456789abcdef0123456789abcdef', alias: 'jane.doe' };
    for (const [type, id] of [
      ['source.created', 's1'],
      ['source.updated', 's1'],
      ['source.created', 's2'],
      ['record.created', 'r1'],
      ['source.deleted', 's1'],
    ]) {
      const [event] = await transaction(db.kysely, (trx) =>
        services.events.append(trx, config.tenant, [
          { type: type!, actor, target: { type: type!.split('.')[0]!, id: id!, sourceId: 's1' }, data: { object: { id } } },
        ]),
      );
      ids.push(event!.id);
    }
  });
  after(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
    await dropSchema(config);
  });

  test('list prints one line per event: the latest, or those of a type, a target, since a time', async () => {
    const lines = (stdout: string) => stdout.trimEnd().split('\n');
    const all = lines((await nelm('audit', 'list')).stdout);
    assert.equal(all.length, 5);
    assert.match(all[0]!, new RegExp(`^\\S+Z  1  source\\.created  jane\\.doe  source s1  ${ids[0]}$`));
    assert.match(all[3]!, / {2}4 {2}record\.created {2}jane\.doe {2}record r1 \(source s1\) {2}/);
    assert.deepEqual(lines((await nelm('audit', 'list', '--limit', '2')).stdout), all.slice(3));
    assert.deepEqual(lines((await nelm('audit', 'list', '--type', 'source.created')).stdout), [all[0], all[2]]);
    assert.deepEqual(lines((await nelm('audit', 'list', '--type', 'source.*', '--target', 's1')).stdout), [all[0], all[1], all[4]]);
    const since = all[2]!.split('  ')[0]!;
    assert.ok(lines((await nelm('audit', 'list', '--since', since, '--limit', '1')).stdout)[0]!.startsWith(since));
    const bad = await nelm('audit', 'list', '--since', 'soon').catch((error) => error);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not an ISO 8601 date/);
  });

  test('verify: ok with the count, or the first event that does not match and exit 1', async () => {
    assert.match((await nelm('audit', 'verify')).stdout, /^ok: 5 events verified; head: event 5, hash [0-9a-f]{64}\n$/);

    const data = await db.kysely.selectFrom('events').select(['seq', 'data', 'hash']).orderBy('seq').execute();
    await sql().set({ data: '{"object":{"id":"forged"}}' }).where('seq', '=', 2).execute();
    assert.deepEqual(await outcome('audit', 'verify'), {
      code: 1,
      stdout: `event 2 (${ids[1]}) does not match: its hash does not match its contents (1 events verified before it)\n`,
    });
    await sql().set({ data: data[1]!.data }).where('seq', '=', 2).execute();

    await sql()
      .set({ hash: '0'.repeat(64) })
      .where('seq', '=', 3)
      .execute();
    assert.deepEqual(await outcome('audit', 'verify'), {
      code: 1,
      stdout: `event 3 (${ids[2]}) does not match: its hash does not match its contents (2 events verified before it)\n`,
    });
    await sql().set({ hash: data[2]!.hash }).where('seq', '=', 3).execute();
    assert.equal((await outcome('audit', 'verify')).code, 0);

    await db.kysely.deleteFrom('events').where('tenant_id', '=', config.tenant).where('seq', '=', 4).execute();
    assert.deepEqual(await outcome('audit', 'verify'), {
      code: 1,
      stdout: `event 5 (${ids[4]}) does not match: events 4 to 4 are missing (3 events verified before it)\n`,
    });
  });
});
