/**
 * PostgreSQL: a batch of record gets (`pgRecordsByIdsSql`) is planned once per connection, not
 * once per run: after PostgreSQL's five custom plans it runs its generic plan, even for small
 * batches (a plain `= ANY($2)` was planned again on every run). Read off pg_prepared_statements
 * (PostgreSQL 14 and later) of the one connection that ran the named statement.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { harness, PG_URL } from '../helpers/app.js';
import { pgRecordsByIdsSql } from '../../src/modules/records/repository.js';

test('a batch of gets runs a generic plan after five custom ones', { skip: PG_URL ? false : 'PostgreSQL only' }, async () => {
  const h = await harness();
  const client = new pg.Client({ connectionString: h.config.databaseUrl, options: `-c search_path=${h.config.databaseSchema}` });
  await client.connect();
  try {
    const source = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, {
      name: 'Plans',
      description: 'p',
      owner: { id: h.admin.identity.id },
    });
    assert.equal(source.statusCode, 200, source.body);
    // Enough rows, analyzed, that PostgreSQL costs plans as at scale (on a handful of rows every
    // plan costs the same and the generic one wins anyway).
    await client.query(
      `insert into records (tenant_id, id, source_id, account_name, first_name, last_name, email, phone, manager, start_date, end_date, data, created, modified)
       select $1, md5(n::text), $2, 'plan.' || n, 'P', 'Lan', 'plan.' || n || '@example.com', '1', 'admin', now(), now(), '{}', now(), now()
       from generate_series(1, 20000) n`,
      [h.config.tenant, source.json().id],
    );
    await client.query('analyze records');
    const ids = Array.from({ length: 40 }, (_, n) =>
      createHash('md5')
        .update(String(1 + n * 97))
        .digest('hex'),
    );
    const text = pgRecordsByIdsSql(h.app.db.kysely);
    for (let run = 0; run < 8; run++) {
      const batch = ids.slice(run * 5, run * 5 + 5);
      const { rows } = await client.query({ name: 'gets', text, values: [h.config.tenant, batch], rowMode: 'array' });
      assert.deepEqual(rows.map((r) => r[0]).sort(), [...batch].sort());
    }
    const {
      rows: [plans],
    } = await client.query<{ generic_plans: string; custom_plans: string }>(
      "select generic_plans, custom_plans from pg_prepared_statements where name = 'gets'",
    );
    assert.deepEqual([Number(plans!.custom_plans), Number(plans!.generic_plans)], [5, 3]);
  } finally {
    await client.end();
    await h.close();
  }
});
