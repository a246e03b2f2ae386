/**
 * GET /metrics (docs/operations.md, "Metrics"): 404 unless configured; behind NELM_METRICS_TOKEN
 * on the API port, or on a listener of its own (NELM_METRICS_PORT); requests by route template,
 * query latency, pool use, sign-ins, the event backlog, bulk jobs and the sweep's lag.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, harness, type Harness } from '../helpers/app.js';
import { createSource } from '../helpers/factories.js';
import { bulkCalls, SYSTEM } from '../helpers/bulk.js';
import { startReceiver } from '../helpers/webhooks.js';

const TOKEN = 'metrics-token-0123456789abcdef';

/** The value of the sample `name{labels}` (labels as Prometheus writes them), or undefined. */
function sample(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    if (line.slice(0, at) === `${name}${labels ? `{${labels}}` : ''}`) return Number(line.slice(at + 1));
  }
  return undefined;
}

describe('metrics off by default', () => {
  test('GET /metrics is 404 on the API port, in the API format', async () => {
    const h = await harness();
    try {
      const response = await h.request('GET', '/metrics', undefined, undefined, { authorization: `Bearer ${TOKEN}` });
      assert.equal(response.statusCode, 404);
      assert.equal(h.app.metrics, undefined);
    } finally {
      await h.close();
    }
  });
});

describe('metrics behind a bearer token', () => {
  let h: Harness;
  const scrape = async () => {
    const response = await h.request('GET', '/metrics', undefined, undefined, { authorization: `Bearer ${TOKEN}` });
    assert.equal(response.statusCode, 200, response.body);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return response.body;
  };

  before(async () => {
    h = await harness({}, { NELM_METRICS_TOKEN: TOKEN });
  });
  after(() => h.close());

  test('refused without the token or with another one, in constant time', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789abcdef', `Basic ${TOKEN}`, 'Bearer ', `Bearer ${TOKEN}x`]) {
      const response = await h.request('GET', '/metrics', undefined, undefined, authorization ? { authorization } : {});
      assert.equal(response.statusCode, 401, authorization);
      assert.equal(response.headers['www-authenticate'], 'Bearer');
      assert.ok(JSON.parse(response.body).error);
    }
  });

  test('requests by route template, method and status; never the raw URL', async () => {
    const owner = (await h.app.services.directory.identityByAlias(h.config.tenant, 'admin'))!.id;
    const sourceId = await createSource(h, 'metered', owner);
    assert.equal((await h.request('GET', `/v2024/non-employee-sources/${sourceId}`, h.admin.token)).statusCode, 200);
    assert.equal((await h.request('GET', `/v2024/non-employee-sources/${'f'.repeat(32)}`, h.admin.token)).statusCode, 404);
    assert.equal((await h.request('GET', '/no/such/path', h.admin.token)).statusCode, 404);
    const text = await scrape();
    assert.equal(sample(text, 'nelm_http_requests_total', 'method="GET",route="/v2024/non-employee-sources/:sourceId",status="200"'), 1);
    assert.equal(sample(text, 'nelm_http_requests_total', 'method="GET",route="/v2024/non-employee-sources/:sourceId",status="404"'), 1);
    assert.equal(sample(text, 'nelm_http_requests_total', 'method="GET",route="unmatched",status="404"'), 1);
    assert.ok(!text.includes(sourceId), 'no raw URL, no id');
    assert.ok((sample(text, 'nelm_http_request_duration_seconds_count', 'method="GET",route="/v2024/non-employee-sources/:sourceId",status="200"') ?? 0) >= 1);
    assert.ok((sample(text, 'nelm_db_query_duration_seconds_count', 'outcome="ok"') ?? 0) > 0, 'query latency');
    assert.ok((sample(text, 'nelm_db_connections', 'state="open"') ?? 0) >= 1, 'pool use');
    assert.ok(sample(text, 'nelm_db_connections', 'state="waiting"') !== undefined);
    assert.ok((sample(text, 'process_cpu_user_seconds_total') ?? -1) >= 0, 'process metrics');
    assert.ok(sample(text, 'nodejs_eventloop_lag_seconds') !== undefined);
  });

  test('sign-ins and refusals at the token endpoint', async () => {
    const form = (secret: string) => ({
      method: 'POST' as const,
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: ADMIN.clientId, client_secret: secret }).toString(),
    });
    assert.equal((await h.app.inject(form(ADMIN.clientSecret))).statusCode, 200);
    assert.equal((await h.app.inject(form('wrong-secret-0123456789'))).statusCode, 401);
    const text = await scrape();
    assert.equal(sample(text, 'nelm_sign_ins_total', 'kind="token",outcome="accepted"'), 1);
    assert.equal(sample(text, 'nelm_sign_ins_total', 'kind="token",outcome="refused"'), 1);
    assert.ok(!text.includes(ADMIN.clientSecret));
  });

  test('the event backlog and its oldest event per consumer, read at scrape time', async () => {
    const { consumers, events } = h.app.services;
    // The token requests of the tests before write their events just after their answers.
    await events.settled();
    await consumers.drain();
    let text = await scrape();
    for (const consumer of ['webhooks', 'mails']) assert.equal(sample(text, 'nelm_event_backlog', `consumer="${consumer}"`), 0, consumer);
    await consumers.stop();
    try {
      const owner = (await h.app.services.directory.identityByAlias(h.config.tenant, 'admin'))!.id;
      await createSource(h, 'backlogged', owner);
      await new Promise((r) => setTimeout(r, 20));
      text = await scrape();
      assert.ok((sample(text, 'nelm_event_backlog', 'consumer="webhooks"') ?? 0) >= 1, 'events past the cursor');
      assert.ok((sample(text, 'nelm_event_backlog_oldest_seconds', 'consumer="webhooks"') ?? 0) > 0, 'their age');
    } finally {
      consumers.start();
    }
    await consumers.drain();
    text = await scrape();
    assert.equal(sample(text, 'nelm_event_backlog', 'consumer="webhooks"'), 0);
    assert.equal(sample(text, 'nelm_event_backlog_oldest_seconds', 'consumer="webhooks"'), 0);
  });

  test('bulk jobs by state, and the jobs this process ended with their run time', async () => {
    const { bulkJobs } = h.app.services;
    const owner = (await h.app.services.directory.identityByAlias(h.config.tenant, 'admin'))!.id;
    const sourceId = await createSource(h, 'bulked', owner);
    await bulkJobs.stop();
    const upload = await bulkCalls(h).upload(sourceId, `${SYSTEM}\nb1,Ann,Lee,555,b1@example.com,admin,2024-01-01,2030-01-01\n`);
    assert.equal(upload.statusCode, 202, upload.body);
    let text = await scrape();
    assert.equal(sample(text, 'nelm_bulk_jobs', 'state="PENDING"'), 1);
    assert.equal(sample(text, 'nelm_bulk_jobs', 'state="IN_PROGRESS"'), 0);
    // Run by this test (the runner's own loop would race it for the claim), then started again.
    await bulkJobs.drain();
    bulkJobs.start();
    text = await scrape();
    assert.equal(sample(text, 'nelm_bulk_jobs', 'state="PENDING"'), 0);
    assert.equal(sample(text, 'nelm_bulk_job_duration_seconds_count', 'outcome="COMPLETED"'), 1);
  });

  test("the lifecycle sweep's lag: how long the oldest due step has waited", async () => {
    const { lifecycleSweep } = h.app.services;
    let text = await scrape();
    assert.equal(sample(text, 'nelm_lifecycle_sweep_lag_seconds'), 0);
    await lifecycleSweep.stop();
    const dueAt = new Date(Date.now() - 120_000).toISOString();
    await h.app.db.kysely
      .insertInto('lifecycle_due')
      .values({ tenant_id: h.config.tenant, kind: 'record', target_id: 'f'.repeat(32), source_id: 'f'.repeat(32), basis: dueAt, step: 'expire', due_at: dueAt })
      .execute();
    try {
      text = await scrape();
      const lag = sample(text, 'nelm_lifecycle_sweep_lag_seconds') ?? 0;
      assert.ok(lag >= 119 && lag < 200, `lag ${lag}`);
    } finally {
      await h.app.db.kysely.deleteFrom('lifecycle_due').where('target_id', '=', 'f'.repeat(32)).execute();
      lifecycleSweep.start();
    }
  });
});

describe('metrics on a port of their own', () => {
  test('served without authentication on NELM_METRICS_HOST; not on the API port', async () => {
    const h = await harness({}, { NELM_METRICS_PORT: '0', NELM_METRICS_HOST: '127.0.0.1' });
    try {
      const address = h.app.metrics?.address;
      assert.ok(address, 'listening');
      assert.equal(address.address, '127.0.0.1');
      assert.equal((await h.request('GET', '/health', undefined)).statusCode, 200);
      const response = await fetch(`http://127.0.0.1:${address.port}/metrics`);
      assert.equal(response.status, 200);
      const text = await response.text();
      assert.equal(sample(text, 'nelm_http_requests_total', 'method="GET",route="/health",status="200"'), 1);
      assert.equal((await fetch(`http://127.0.0.1:${address.port}/other`)).status, 404);
      assert.equal((await h.request('GET', '/metrics', undefined, undefined, { authorization: `Bearer ${TOKEN}` })).statusCode, 404);
    } finally {
      await h.close();
    }
    await assert.rejects(fetch(`http://127.0.0.1:${h.app.metrics!.address!.port}/metrics`), 'closed with the app');
  });
});

describe('webhook deliveries by outcome', () => {
  test('an attempt that fails, then one that succeeds; a delivery that fails for good', async () => {
    const h = await harness(
      {},
      { NELM_METRICS_TOKEN: TOKEN, NELM_WEBHOOK_ALLOW_HTTP: 'true', NELM_WEBHOOK_ALLOW_PRIVATE: 'true', NELM_WEBHOOK_RETRY_SCHEDULE: '100ms' },
    );
    const flaky = await startReceiver((_, i) => ({ status: i === 0 ? 500 : 200 }));
    const dead = await startReceiver(() => ({ status: 503 }));
    try {
      for (const url of [flaky.url, dead.url]) {
        const res = await h.request('POST', '/admin/v1/webhooks', h.admin.token, { url, events: ['source.created'] });
        assert.equal(res.statusCode, 200, res.body);
      }
      const owner = (await h.app.services.directory.identityByAlias(h.config.tenant, 'admin'))!.id;
      await createSource(h, 'hooked', owner);
      const read = async () => {
        const response = await h.request('GET', '/metrics', undefined, undefined, { authorization: `Bearer ${TOKEN}` });
        return response.body;
      };
      let text = await read();
      for (let t = 0; t < 200 && (sample(text, 'nelm_webhook_deliveries_total', 'outcome="failed"') ?? 0) < 1; t++) {
        await new Promise((r) => setTimeout(r, 50));
        text = await read();
      }
      for (let t = 0; t < 200 && (sample(text, 'nelm_webhook_deliveries_total', 'outcome="succeeded"') ?? 0) < 1; t++) {
        await new Promise((r) => setTimeout(r, 50));
        text = await read();
      }
      // One retry scheduled each (flaky's 500, dead's first 503), then a success and a failure for good.
      assert.equal(sample(text, 'nelm_webhook_deliveries_total', 'outcome="retrying"'), 2);
      assert.equal(sample(text, 'nelm_webhook_deliveries_total', 'outcome="succeeded"'), 1);
      assert.equal(sample(text, 'nelm_webhook_deliveries_total', 'outcome="failed"'), 1);
    } finally {
      await h.close();
      await flaky.close();
      await dead.close();
    }
  });
});
