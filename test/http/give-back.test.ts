/**
 * A stopping app gives back the webhook endpoints it is delivering to (docs/operations.md,
 * "Stopping"): it waits for the answer of the request in flight (5 s at most) and records it, so
 * that no other process sends that event again; a request still unanswered then is abandoned, not
 * counted as an attempt, and the endpoint's claim ended, so another process sends it again at
 * once instead of after the claim runs out. (The bulk jobs' part: test/e2e/shutdown.e2e.test.ts,
 * with real processes.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dropSchema, harness } from '../helpers/app.js';
import { createSource } from '../helpers/factories.js';
import { startReceiver } from '../helpers/webhooks.js';
import { openDatabase } from '../../src/db/open.js';
import { buildApp } from '../../src/app.js';
import { STOP_GRACE_MS } from '../../src/modules/webhooks/delivery.js';

test('closing the app ends its webhook claims after the grace; the attempt still unanswered is not counted', async (t) => {
  if (!/^postgres/.test(process.env.DATABASE_URL ?? '')) {
    // A SQLite file in memory is gone with its app; the file case is the same code (its next start also ends every claim).
    t.skip('PostgreSQL: the database outlives the app');
    return;
  }
  const receiver = await startReceiver(() => 'hang');
  const h = await harness({}, { NELM_WEBHOOK_ALLOW_HTTP: 'true', NELM_WEBHOOK_ALLOW_PRIVATE: 'true', NELM_WEBHOOK_TIMEOUT: '30' });
  try {
    const hook = await h.request('POST', '/admin/v1/webhooks', h.admin.token, { url: receiver.url, events: ['source.created'] });
    assert.equal(hook.statusCode, 200, hook.body);
    const { id } = hook.json() as { id: string };
    await createSource(h, 'given back', h.admin.identity.id);
    for (let i = 0; i < 200 && receiver.received.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(receiver.received.length, 1, 'the request is in flight');
    const before = await h.app.db.kysely.selectFrom('webhooks').select(['claimed_by', 'lease_until']).where('id', '=', id).executeTakeFirstOrThrow();
    assert.ok(before.claimed_by !== null && before.lease_until !== null, 'claimed while it waits for the answer');
    const started = Date.now();
    await h.app.close();
    const held = Date.now() - started;
    assert.ok(held >= STOP_GRACE_MS - 100 && held < STOP_GRACE_MS + 3000, `the hanging request holds the stop for the grace only: ${held} ms`);
    const db = await openDatabase(h.config);
    try {
      const after = await db.kysely.selectFrom('webhooks').select(['claimed_by', 'lease_until']).where('id', '=', id).executeTakeFirstOrThrow();
      assert.deepEqual(after, { claimed_by: null, lease_until: null });
      const delivery = await db.kysely.selectFrom('webhook_deliveries').select(['status', 'attempts']).where('webhook_id', '=', id).executeTakeFirstOrThrow();
      assert.deepEqual({ ...delivery, attempts: Number(delivery.attempts) }, { status: 'PENDING', attempts: 0 });
    } finally {
      await db.close();
    }
  } finally {
    await dropSchema(h.config);
    await receiver.close();
  }
});

test('closing the app waits for the answer of the request in flight: another process does not send it again', async (t) => {
  if (!/^postgres/.test(process.env.DATABASE_URL ?? '')) {
    t.skip('PostgreSQL: two apps on one database');
    return;
  }
  // Answers after 800 ms: the first app is closed while it waits.
  const receiver = await startReceiver(() => ({ status: 200, delayMs: 800 }));
  const env = { NELM_WEBHOOK_ALLOW_HTTP: 'true', NELM_WEBHOOK_ALLOW_PRIVATE: 'true', NELM_WEBHOOK_TIMEOUT: '10' };
  const h = await harness({}, env);
  let other: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    const hook = await h.request('POST', '/admin/v1/webhooks', h.admin.token, { url: receiver.url, events: ['source.created'] });
    assert.equal(hook.statusCode, 200, hook.body);
    const { id } = hook.json() as { id: string };
    await createSource(h, 'answered', h.admin.identity.id);
    for (let i = 0; i < 200 && receiver.received.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(receiver.received.length, 1, 'the request is in flight');
    // Another process on the database, as in a rolling restart.
    other = await buildApp(h.config, { logger: false });
    await other.ready();
    const started = Date.now();
    await h.app.close();
    assert.ok(Date.now() - started < STOP_GRACE_MS, `closed ${Date.now() - started} ms after, with the answer`);
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(receiver.received.length, 1, 'sent once');
    const delivery = await other.db.kysely
      .selectFrom('webhook_deliveries')
      .select(['status', 'attempts'])
      .where('webhook_id', '=', id)
      .executeTakeFirstOrThrow();
    assert.deepEqual({ ...delivery, attempts: Number(delivery.attempts) }, { status: 'SUCCEEDED', attempts: 1 });
  } finally {
    await other?.close();
    await dropSchema(h.config);
    await receiver.close();
  }
});
