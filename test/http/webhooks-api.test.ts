/**
 * The webhooks' admin API through app.inject: create (the secret shown once), list, get, patch,
 * delete, rotate the secret, each writing its `webhook.*` event without the secret; org admins
 * only; the URL checked when registered (scheme, form, addresses: test/http/webhooks-ssrf.test.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KeyRing } from '../../src/auth/key-encryption.js';
import { systemResolver } from '../../src/modules/webhooks/address.js';
import { WebhookRepository } from '../../src/modules/webhooks/repository.js';
import { WebhookService } from '../../src/modules/webhooks/service.js';
import { errorOf, harness, type Caller, type Harness } from '../helpers/app.js';

const HOOKS = '/admin/v1/webhooks';

interface WebhookJson {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  disabledReason: string | null;
  created: string;
  modified: string;
  secret?: string;
}

describe('webhooks admin API', () => {
  let h: Harness;
  let reader: Caller;
  const create = async (body: object): Promise<WebhookJson> => {
    const res = await h.request('POST', HOOKS, h.admin.token, body);
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  const auditOf = async (id: string) => {
    const res = await h.request('GET', `/admin/v1/audit-events?filters=${encodeURIComponent(`targetId eq "${id}"`)}`, h.admin.token);
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { type: string; actor: { alias: string } | null; data: { object: Record<string, unknown>; changes?: object } }[];
  };

  before(async () => {
    // Webhooks to https:// URLs of public addresses, registered without looking them up.
    h = await harness({}, { NELM_WEBHOOK_ALLOW_PRIVATE: 'true' });
    reader = await h.caller('reader', { rights: ['idn:nesr:read', 'idn:nesr:create', 'idn:nesr:update', 'idn:nesr:delete'] });
  });
  after(async () => h.close());

  test('create answers the endpoint with its secret, once; get and list never show it', async () => {
    const hook = await create({ url: 'https://hooks.example.com/nelm', events: ['record.*', 'source.created', 'record.*'], description: 'the directory' });
    assert.match(hook.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(hook.url, 'https://hooks.example.com/nelm');
    assert.deepEqual(hook.events, ['record.*', 'source.created'], 'patterns once each');
    assert.equal(hook.description, 'the directory');
    assert.equal(hook.enabled, true);
    assert.equal(hook.disabledReason, null);
    assert.match(hook.secret!, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.equal(Buffer.from(hook.secret!.slice(6), 'base64').length, 32);

    const got = await h.request('GET', `${HOOKS}/${hook.id}`, h.admin.token);
    assert.equal(got.statusCode, 200, got.body);
    const { secret: _secret, ...shown } = hook;
    assert.deepEqual(got.json(), shown);
    assert.ok(!got.body.includes(hook.secret!));
    const list = await h.request('GET', `${HOOKS}?count=true`, h.admin.token);
    assert.equal(list.statusCode, 200);
    assert.ok(!list.body.includes('whsec_'));
    assert.ok(
      (list.json() as WebhookJson[]).some((w) => w.id === hook.id),
      'listed',
    );
    assert.equal(list.headers['x-total-count'], String((list.json() as unknown[]).length));
    const stored = await h.app.db.kysely.selectFrom('webhooks').select('secret').where('id', '=', hook.id).executeTakeFirstOrThrow();
    assert.ok(!stored.secret.includes(hook.secret!.slice(6)), 'stored sealed');
    assert.match(stored.secret, /^enc:v1:/);
  });

  test('patch changes url, events, description and enabled; each change an event, none holding a secret', async () => {
    const hook = await create({ url: 'https://hooks.example.com/a', events: ['*'] });
    const patched = await h.request('PATCH', `${HOOKS}/${hook.id}`, h.admin.token, {
      url: 'https://hooks.example.com/b',
      events: ['request.*'],
      description: 'requests',
      enabled: false,
    });
    assert.equal(patched.statusCode, 200, patched.body);
    const after = patched.json() as WebhookJson;
    assert.deepEqual([after.url, after.events, after.description, after.enabled], ['https://hooks.example.com/b', ['request.*'], 'requests', false]);
    assert.ok(after.modified >= hook.modified);
    const rotated = await h.request('POST', `${HOOKS}/${hook.id}/rotate-secret`, h.admin.token);
    assert.equal(rotated.statusCode, 200, rotated.body);
    const secret = (rotated.json() as WebhookJson).secret!;
    assert.match(secret, /^whsec_/);
    assert.notEqual(secret, hook.secret);
    const deleted = await h.request('DELETE', `${HOOKS}/${hook.id}`, h.admin.token);
    assert.equal(deleted.statusCode, 204, deleted.body);
    assert.equal((await h.request('GET', `${HOOKS}/${hook.id}`, h.admin.token)).statusCode, 404);

    const events = await auditOf(hook.id);
    assert.deepEqual(
      events.map((e) => [e.type, e.actor?.alias]),
      [
        ['webhook.created', 'admin'],
        ['webhook.updated', 'admin'],
        ['webhook.secret_rotated', 'admin'],
        ['webhook.deleted', 'admin'],
      ],
    );
    assert.deepEqual(events[1]!.data.changes, {
      url: { old: 'https://hooks.example.com/a', new: 'https://hooks.example.com/b' },
      events: { old: ['*'], new: ['request.*'] },
      description: { old: null, new: 'requests' },
      enabled: { old: true, new: false },
    });
    const text = JSON.stringify(events);
    assert.ok(!text.includes(hook.secret!) && !text.includes(secret) && !text.includes('whsec_'), 'no secret in the log');
    assert.ok(!text.includes('enc:v1:'), 'not even sealed');
  });

  test('a patch that changes nothing writes no event', async () => {
    const hook = await create({ url: 'https://hooks.example.com/same', events: ['*'] });
    const res = await h.request('PATCH', `${HOOKS}/${hook.id}`, h.admin.token, { url: 'https://hooks.example.com/same', enabled: true });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((res.json() as WebhookJson).modified, hook.modified);
    assert.deepEqual(
      (await auditOf(hook.id)).map((e) => e.type),
      ['webhook.created'],
    );
  });

  test('invalid bodies are 400s naming the field', async () => {
    for (const [body, field] of [
      [{ url: 'https://hooks.example.com/x', events: [] }, 'events'],
      [{ url: 'https://hooks.example.com/x', events: ['Record.Created'] }, 'events[0]'],
      [{ url: 'https://hooks.example.com/x', events: ['record.*.x'] }, 'events[0]'],
      [{ url: 'ftp://hooks.example.com/x', events: ['*'] }, 'url'],
      [{ url: 'hooks.example.com/x', events: ['*'] }, 'url'],
      [{ url: 'https://user:pw@hooks.example.com/x', events: ['*'] }, 'url'],
      [{ url: 'http://hooks.example.com/x', events: ['*'] }, 'url'],
      [{ events: ['*'] }, 'url'],
    ] as const) {
      const res = await h.request('POST', HOOKS, h.admin.token, body);
      assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
      const error = errorOf(res);
      assert.ok(JSON.stringify(error).includes(field), `${JSON.stringify(body)} names ${field}: ${res.body}`);
    }
    const res = await h.request('POST', HOOKS, h.admin.token, { url: 'http://hooks.example.com/x', events: ['*'] });
    assert.match(errorOf(res).messages[0]!.text, /https:\/\//);
  });

  test('org admins only; unknown ids are 404', async () => {
    const hook = await create({ url: 'https://hooks.example.com/admins', events: ['*'] });
    for (const [method, url, body] of [
      ['POST', HOOKS, { url: 'https://hooks.example.com/x', events: ['*'] }],
      ['GET', HOOKS, undefined],
      ['GET', `${HOOKS}/${hook.id}`, undefined],
      ['PATCH', `${HOOKS}/${hook.id}`, { enabled: false }],
      ['DELETE', `${HOOKS}/${hook.id}`, undefined],
      ['POST', `${HOOKS}/${hook.id}/rotate-secret`, undefined],
      ['POST', `${HOOKS}/${hook.id}/test`, undefined],
      ['GET', `${HOOKS}/${hook.id}/deliveries`, undefined],
    ] as const) {
      const res = await h.request(method, url, reader.token, body);
      assert.equal(res.statusCode, 403, `${method} ${url}: ${res.body}`);
      errorOf(res);
      assert.equal((await h.request(method, url, undefined, body)).statusCode, 401, `${method} ${url} without a token`);
    }
    const missing = '01939a3c-0000-7000-8000-000000000000';
    for (const [method, url] of [
      ['GET', `${HOOKS}/${missing}`],
      ['PATCH', `${HOOKS}/${missing}`],
      ['DELETE', `${HOOKS}/${missing}`],
      ['POST', `${HOOKS}/${missing}/rotate-secret`],
      ['POST', `${HOOKS}/${missing}/test`],
      ['GET', `${HOOKS}/${missing}/deliveries`],
      ['POST', `${HOOKS}/${hook.id}/deliveries/${missing}/retry`],
    ] as const) {
      const res = await h.request(method, url, h.admin.token, method === 'PATCH' ? { enabled: true } : undefined);
      assert.equal(res.statusCode, 404, `${method} ${url}: ${res.body}`);
      errorOf(res);
    }
    assert.equal((await h.request('GET', `${HOOKS}/not-an-id`, h.admin.token)).statusCode, 400);
  });

  test('the served OpenAPI has the webhook operations under the tag Webhooks', async () => {
    const doc = (await h.request('GET', '/openapi.json', undefined)).json() as {
      paths: Record<string, Record<string, { operationId: string; tags: string[] }>>;
    };
    const ops = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/admin/v1/webhooks'))
      .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => `${method.toUpperCase()} ${path} ${op.operationId} ${op.tags}`));
    assert.deepEqual(ops.sort(), [
      'DELETE /admin/v1/webhooks/{id} deleteWebhook Webhooks',
      'GET /admin/v1/webhooks listWebhooks Webhooks',
      'GET /admin/v1/webhooks/{id} getWebhook Webhooks',
      'GET /admin/v1/webhooks/{id}/deliveries listWebhookDeliveries Webhooks',
      'PATCH /admin/v1/webhooks/{id} updateWebhook Webhooks',
      'POST /admin/v1/webhooks createWebhook Webhooks',
      'POST /admin/v1/webhooks/{id}/deliveries/{deliveryId}/retry retryWebhookDelivery Webhooks',
      'POST /admin/v1/webhooks/{id}/rotate-secret rotateWebhookSecret Webhooks',
      'POST /admin/v1/webhooks/{id}/test testWebhook Webhooks',
    ]);
  });

  test('a start seals the secrets again under a new key-encryption key, given the previous one', async () => {
    const hook = await create({ url: 'https://hooks.example.com/kek', events: ['*'] });
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
    const context = `webhook:${h.config.tenant}:${hook.id}`;
    const sealed = new KeyRing(oldKey, undefined).seal(hook.secret!, context);
    await h.app.db.kysely.updateTable('webhooks').set({ secret: sealed }).where('id', '=', hook.id).execute();
    const ring = new KeyRing(newKey, oldKey);
    const service = new WebhookService(h.app.db.kysely, new WebhookRepository(h.app.db.dialect), h.app.services.events, ring, {
      allowHttp: false,
      allowPrivate: true,
      resolve: systemResolver,
    });
    await service.init();
    const stored = await h.app.db.kysely.selectFrom('webhooks').select('secret').where('id', '=', hook.id).executeTakeFirstOrThrow();
    assert.equal(KeyRing.sealedWith(stored.secret), ring.currentId);
    assert.equal(ring.open(stored.secret, context), hook.secret);
  });
});
