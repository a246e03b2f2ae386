/**
 * Liveness and readiness (docs/operations.md, "Health"): /health and /health/live answer while the
 * process does; /health/ready is 200 only when the database answers, every migration is applied
 * and the workers run, and 503 naming what failed otherwise, a stopping process included.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { harness, type Harness } from '../helpers/app.js';

describe('health', () => {
  let h: Harness;
  const ready = async () => {
    const response = await h.request('GET', '/health/ready', undefined);
    return { status: response.statusCode, body: JSON.parse(response.body) as { status: string; failed?: string[]; checks?: Record<string, string> } };
  };

  before(async () => {
    h = await harness();
  });
  after(() => h.close());

  test('/health and /health/live: 200 while the process answers, no token needed', async () => {
    for (const url of ['/health', '/health/live']) {
      const response = await h.request('GET', url, undefined);
      assert.equal(response.statusCode, 200);
      assert.deepEqual(JSON.parse(response.body), { status: 'ok' });
    }
  });

  test('a migration not applied: 503 naming it, until it is', async () => {
    // Kysely's bookkeeping table is not one of the application's.
    const db = h.app.db.kysely as unknown as Kysely<{ kysely_migration: { name: string; timestamp: string } }>;
    const last = await db.selectFrom('kysely_migration').selectAll().orderBy('name', 'desc').executeTakeFirstOrThrow();
    await db.deleteFrom('kysely_migration').where('name', '=', last.name).execute();
    try {
      const { status, body } = await ready();
      assert.equal(status, 503);
      assert.deepEqual(body.failed, ['migrations']);
      assert.equal(body.checks?.migrations, `not applied: ${last.name}`);
      assert.equal(body.checks?.database, 'ok');
    } finally {
      await db.insertInto('kysely_migration').values(last).execute();
    }
    assert.deepEqual(await ready(), { status: 200, body: { status: 'ready' } });
  });

  test('a worker stopped: 503 naming it', async () => {
    await h.app.services.lifecycleSweep.stop();
    await h.app.services.webhookDeliveries.stop();
    try {
      const { status, body } = await ready();
      assert.equal(status, 503);
      assert.deepEqual(body.failed, ['workers']);
      assert.equal(body.checks?.workers, 'not running: webhooks, lifecycle');
    } finally {
      h.app.services.lifecycleSweep.start();
    }
    // The webhook worker, once stopped, does not start again: a new app does.
    const fresh = await harness();
    try {
      const response = await fresh.request('GET', '/health/ready', undefined);
      assert.equal(response.statusCode, 200);
    } finally {
      await fresh.close();
    }
  });

  test('a stopping process: 503 from the signal on; still alive', async () => {
    const fresh = await harness();
    try {
      fresh.app.readiness.drain();
      const response = await fresh.request('GET', '/health/ready', undefined);
      assert.equal(response.statusCode, 503);
      const body = JSON.parse(response.body);
      assert.deepEqual(body.failed, ['shutdown']);
      assert.equal(body.status, 'unavailable');
      assert.equal((await fresh.request('GET', '/health/live', undefined)).statusCode, 200);
    } finally {
      await fresh.close();
    }
  });
});
