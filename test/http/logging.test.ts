/** Secrets and tokens never appear in the log of a full scenario. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { buildApp } from '../../src/app.js';
import { ADMIN, dropSchema, testConfig } from '../helpers/app.js';
import { logSerializers, redactUrl } from '../../src/http/logging.js';

test('redactUrl masks secret query values and keeps the rest', () => {
  assert.equal(
    redactUrl('/oauth/token?grant_type=client_credentials&client_id=a&client_secret=s3cr3t'),
    '/oauth/token?grant_type=client_credentials&client_id=a&client_secret=***',
  );
  assert.equal(redactUrl('/v2024/non-employee-sources?limit=5'), '/v2024/non-employee-sources?limit=5');
});

test('the log of a token request, API calls and errors holds no secret and no token', async () => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const config = testConfig({ logLevel: 'trace' });
  const app = await buildApp(config, { logger: { level: 'trace', stream, serializers: logSerializers } });
  try {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: ADMIN.clientId, client_secret: ADMIN.clientSecret });
    const viaQuery = await app.inject({ method: 'POST', url: `/oauth/token?${form}` });
    const viaBody = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form.toString(),
    });
    const token = viaQuery.json().access_token as string;
    assert.ok(token && viaBody.json().access_token);
    const client = (
      await app.inject({
        method: 'POST',
        url: `/admin/v1/identities/${(await app.services.directory.identityByAlias('default', 'admin'))!.id}/clients`,
        headers: { authorization: `Bearer ${token}` },
      })
    ).json();
    await app.inject({ method: 'GET', url: '/v2024/non-employee-sources', headers: { authorization: `Bearer ${token}` } });
    await app.inject({ method: 'GET', url: '/v2024/non-employee-sources', headers: { authorization: `Bearer ${token}x` } });
    await app.inject({
      method: 'POST',
      url: `/oauth/token?grant_type=client_credentials&client_id=${ADMIN.clientId}&client_secret=wrong-${ADMIN.clientSecret}`,
    });
    const log = lines.join('');
    assert.ok(log.includes('/oauth/token'), 'requests are logged');
    for (const secret of [ADMIN.clientSecret, token, token.split('.')[2]!, client.clientSecret]) {
      assert.ok(!log.includes(secret), `the log contains ${secret.slice(0, 8)}…`);
    }
  } finally {
    await app.close();
    await dropSchema(config);
  }
});
