import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ConfigError, loadConfig, parseRateLimit } from '../../src/config/config.js';

test('defaults: the SQLite file data/nelm.sqlite of the checkout, port 8080, 749 s tokens, 100 requests per 10 s', () => {
  const c = loadConfig({});
  assert.equal(c.engine, 'sqlite');
  assert.equal(c.databaseUrl, path.resolve(import.meta.dirname, '..', '..', 'data', 'nelm.sqlite'));
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

test('retired variables are ignored and named, so that the server can say so', () => {
  assert.deepEqual(loadConfig({}).ignored, []);
  assert.deepEqual(loadConfig({ NELM_RECORD_CACHE_MB: '64', NELM_SQLITE_READ_THREAD: 'off' }).ignored, ['NELM_RECORD_CACHE_MB', 'NELM_SQLITE_READ_THREAD']);
  assert.deepEqual(loadConfig({ NELM_RECORD_CACHE_MB: '' }).ignored, []);
});

test('the cost of hashing client secrets: 15 by default, 10 to 20', () => {
  assert.equal(loadConfig({}).secretHashCost, 15);
  assert.equal(loadConfig({ NELM_SECRET_HASH_COST: '10' }).secretHashCost, 10);
  assert.throws(() => loadConfig({ NELM_SECRET_HASH_COST: '9' }), /NELM_SECRET_HASH_COST must be between 10 and 20/);
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

test('authentication locks: 5 per client id and 30 per address by default, changeable, or off; nothing else', () => {
  assert.deepEqual(loadConfig({}).authThrottle, { clientFailures: 5, addressFailures: 30 });
  assert.deepEqual(loadConfig({ NELM_AUTH_THROTTLE: '10 / 100' }).authThrottle, { clientFailures: 10, addressFailures: 100 });
  assert.equal(loadConfig({ NELM_AUTH_THROTTLE: 'OFF' }).authThrottle, false);
  for (const bad of ['5', '0/30', 'five/30', '5/30/1'])
    assert.throws(() => loadConfig({ NELM_AUTH_THROTTLE: bad }), /NELM_AUTH_THROTTLE must look like '5\/30'/);
});

test('trusted proxies: none by default; addresses and CIDR ranges, true or hops (test/unit/operations-config.test.ts); nothing else', () => {
  assert.equal(loadConfig({}).trustProxy, false);
  assert.deepEqual(loadConfig({ NELM_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1' }).trustProxy, ['10.0.0.0/8', '127.0.0.1', '::1']);
  assert.throws(
    () => loadConfig({ NELM_TRUST_PROXY: 'yes' }),
    /NELM_TRUST_PROXY must be 'off', 'true', a number of hops \(1 to 32\) or addresses and CIDR ranges/,
  );
});
