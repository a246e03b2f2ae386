import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig, parseRateLimit } from '../../src/config/config.js';

test('defaults: SQLite file under data/, port 8080, 749 s tokens, 100 requests per 10 s', () => {
  const c = loadConfig({});
  assert.equal(c.engine, 'sqlite');
  assert.equal(c.databaseUrl, 'data/nelm.sqlite');
  assert.equal(c.port, 8080);
  assert.equal(c.tokenTtl, 749);
  assert.deepEqual(c.rateLimit, { max: 100, windowSeconds: 10 });
  assert.ok(Object.isFrozen(c));
});

test('a postgres URL selects PostgreSQL; the rate limit can be changed or turned off', () => {
  const c = loadConfig({ DATABASE_URL: 'postgres://u@h:5432/db', NELM_RATE_LIMIT: '500/60s' });
  assert.equal(c.engine, 'postgres');
  assert.deepEqual(c.rateLimit, { max: 500, windowSeconds: 60 });
  assert.equal(loadConfig({ NELM_RATE_LIMIT: 'off' }).rateLimit, false);
  assert.equal(parseRateLimit('10 / 1s')?.toString(), { max: 10, windowSeconds: 1 }.toString());
});

test('PostgreSQL prepared statements: on by default, off on request, nothing else', () => {
  assert.equal(loadConfig({}).pgPreparedStatements, true);
  assert.equal(loadConfig({ NELM_PG_PREPARED_STATEMENTS: 'OFF' }).pgPreparedStatements, false);
  assert.equal(loadConfig({ NELM_PG_PREPARED_STATEMENTS: 'on' }).pgPreparedStatements, true);
  assert.throws(() => loadConfig({ NELM_PG_PREPARED_STATEMENTS: 'sometimes' }), /NELM_PG_PREPARED_STATEMENTS must be 'on' or 'off'/);
});

test('the SQLite read thread: on by default, off on request, nothing else', () => {
  assert.equal(loadConfig({}).sqliteReadThread, true);
  assert.equal(loadConfig({ NELM_SQLITE_READ_THREAD: 'Off' }).sqliteReadThread, false);
  assert.equal(loadConfig({ NELM_SQLITE_READ_THREAD: ' on ' }).sqliteReadThread, true);
  assert.throws(() => loadConfig({ NELM_SQLITE_READ_THREAD: 'yes' }), /NELM_SQLITE_READ_THREAD must be 'on' or 'off', got 'yes'/);
});

test('the record cache: 64 MiB by default, any whole number of MiB up to 16384, 0 turns it off', () => {
  assert.equal(loadConfig({}).recordCacheBytes, 64 * 1024 * 1024);
  assert.equal(loadConfig({ NELM_RECORD_CACHE_MB: '0' }).recordCacheBytes, 0);
  assert.equal(loadConfig({ NELM_RECORD_CACHE_MB: '512' }).recordCacheBytes, 512 * 1024 * 1024);
  assert.throws(() => loadConfig({ NELM_RECORD_CACHE_MB: 'lots' }), /NELM_RECORD_CACHE_MB must be a whole number, got 'lots'/);
  assert.throws(() => loadConfig({ NELM_RECORD_CACHE_MB: '20000' }), /NELM_RECORD_CACHE_MB must be between 0 and 16384/);
});

test('every problem is named at once', () => {
  assert.throws(
    () =>
      loadConfig({
        PORT: 'eighty',
        NELM_TOKEN_TTL: '5',
        NELM_RATE_LIMIT: 'lots',
        NELM_ADMIN_CLIENT_ID: 'only-the-id',
        DATABASE_URL: 'mysql://x',
        NELM_LOG_LEVEL: 'loud',
      }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      const text = error.problems.join('\n');
      for (const name of ['PORT', 'NELM_TOKEN_TTL', 'NELM_RATE_LIMIT', 'NELM_ADMIN_CLIENT_SECRET', 'DATABASE_URL', 'NELM_LOG_LEVEL'])
        assert.match(text, new RegExp(name));
      return true;
    },
  );
  assert.throws(() => loadConfig({ NELM_ADMIN_CLIENT_ID: 'admin', NELM_ADMIN_CLIENT_SECRET: 'short' }), /at least 16/);
});

test('request timeout: 120 s by default, 0 for none, whole seconds up to an hour', () => {
  assert.equal(loadConfig({}).requestTimeout, 120);
  assert.equal(loadConfig({ NELM_REQUEST_TIMEOUT: '0' }).requestTimeout, 0);
  assert.equal(loadConfig({ NELM_REQUEST_TIMEOUT: '3600' }).requestTimeout, 3600);
  for (const bad of ['3601', '-1', 'slow', '1.5']) assert.throws(() => loadConfig({ NELM_REQUEST_TIMEOUT: bad }), /NELM_REQUEST_TIMEOUT/, bad);
});
