/**
 * Webhook URLs and the addresses behind them, through the admin API and at delivery: by default
 * only https:// URLs whose host has public addresses are registered, and every delivery checks the
 * addresses again after resolving, so a URL that has come to name a private address is not called.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { errorOf, harness, type Harness } from '../helpers/app.js';
import { createSource } from '../helpers/factories.js';
import { type Receiver, sleep, startReceiver, until } from '../helpers/webhooks.js';

const HOOKS = '/admin/v1/webhooks';

describe('webhook URL safety', () => {
  let strict: Harness;
  let httpOnly: Harness;
  let receiver: Receiver;

  before(async () => {
    strict = await harness();
    // http:// allowed, private addresses not: the receivers of this test are on 127.0.0.1.
    httpOnly = await harness({}, { NELM_WEBHOOK_ALLOW_HTTP: 'true', NELM_WEBHOOK_RETRY_SCHEDULE: '10m' });
    receiver = await startReceiver();
  });
  after(async () => {
    await strict.close();
    await httpOnly.close();
    await receiver.close();
  });

  test('registration refuses loopback, private, link-local and other non-public addresses: 400 naming url', async () => {
    const cases: [string, RegExp][] = [
      ['https://127.0.0.1/hook', /url names 127\.0\.0\.1, a loopback address/],
      ['https://localhost/hook', /url's host localhost resolves to (127\.0\.0\.1|::1), a loopback address/],
      ['https://10.0.0.1/hook', /url names 10\.0\.0\.1, a private address/],
      ['https://192.168.0.10:8443/hook', /a private address/],
      ['https://169.254.169.254/latest/meta-data/', /url names 169\.254\.169\.254, a link-local address/],
      ['https://[::ffff:127.0.0.1]/hook', /url names ::ffff:7f00:1, an IPv4-mapped loopback address/],
      ['https://[::1]/hook', /a loopback address/],
      ['https://[fd00::1]/hook', /a private \(unique local\) address/],
      ['https://[fe80::1]/hook', /a link-local address/],
      ['https://100.64.0.1/hook', /a shared \(carrier-grade NAT\) address/],
      ['https://0.0.0.0/hook', /an unspecified/],
      ['https://224.0.0.1/hook', /a multicast address/],
      ['https://2130706433/hook', /url names 127\.0\.0\.1, a loopback address/],
      ['http://93.184.216.34/hook', /https:\/\//],
    ];
    for (const [url, message] of cases) {
      const res = await strict.request('POST', HOOKS, strict.admin.token, { url, events: ['*'] });
      assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
      const error = errorOf(res);
      assert.equal(error.detailCode, '400.1 Bad Request Content');
      assert.match(error.messages[0]!.text, message, url);
      assert.deepEqual(
        error.causes.map((c) => c.text.split(/[ ']/)[0]),
        ['url'],
        'one cause, naming url',
      );
    }
    const created = await strict.request('POST', HOOKS, strict.admin.token, { url: 'https://93.184.216.34/hook', events: ['*'] });
    assert.equal(created.statusCode, 200, created.body);
    const hook = created.json();
    const patched = await strict.request('PATCH', `${HOOKS}/${hook.id}`, strict.admin.token, { url: 'https://10.0.0.1/hook' });
    assert.equal(patched.statusCode, 400, patched.body);
    assert.match(errorOf(patched).messages[0]!.text, /a private address/);
    await strict.request('DELETE', `${HOOKS}/${hook.id}`, strict.admin.token);
  });

  test('every delivery checks the address again: a URL that now names a loopback address is not called', async () => {
    const h = httpOnly;
    // Registered while it named a public address (no lookup for an address), then changed behind the API's back.
    const port = new URL(receiver.url).port;
    const hooks: { id: string; url: string }[] = [];
    for (const url of [`http://127.0.0.1:${port}/hook`, `http://localhost:${port}/hook`, `http://[::ffff:127.0.0.1]:${port}/hook`]) {
      const res = await h.request('POST', HOOKS, h.admin.token, { url: 'http://93.184.216.34/hook', events: ['source.created'] });
      assert.equal(res.statusCode, 200, res.body);
      const { id } = res.json();
      await h.app.db.kysely.updateTable('webhooks').set({ url }).where('id', '=', id).execute();
      hooks.push({ id, url });
    }
    await createSource(h, 'Rebound', h.admin.identity.id);
    for (const hook of hooks) {
      const [delivery] = await until(`the refused attempt to ${hook.url}`, async () => {
        const list = (await h.request('GET', `${HOOKS}/${hook.id}/deliveries`, h.admin.token)).json();
        return list[0]?.status === 'RETRYING' && list;
      });
      assert.equal(delivery.status, 'RETRYING');
      assert.equal(delivery.attempts[0].statusCode, null);
      assert.match(delivery.attempts[0].error, /^refused: .*(127\.0\.0\.1|::1|::ffff:7f00:1), an? (IPv4-mapped )?loopback address$/, hook.url);
    }
    await sleep(100);
    assert.equal(receiver.received.length, 0, 'never called');
  });
});
