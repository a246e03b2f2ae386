/** OAuth tokens, bearer auth, the error shapes, rate limiting and the admin API, through app.inject. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, generateKeyPair } from 'jose';
import { ADMIN, errorOf, harness, type Harness } from '../helpers/app.js';

describe('foundation', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(async () => h.close());

  describe('POST /oauth/token', () => {
    test('accepts multipart form data, as the official SDK sends it', async () => {
      const boundary = '----nelmtest';
      const field = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
      const payload = `${field('grant_type', 'client_credentials') + field('client_id', ADMIN.clientId) + field('client_secret', ADMIN.clientSecret)}--${boundary}--\r\n`;
      const res = await h.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
        payload,
      });
      assert.equal(res.statusCode, 200);
      const body = res.json();
      assert.equal(body.token_type, 'bearer');
      assert.equal(body.expires_in, 749);
      assert.match(body.access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
      const list = await h.request('GET', '/v2024/non-employee-sources', body.access_token);
      assert.equal(list.statusCode, 200);
    });

    test('accepts urlencoded forms and query parameters', async () => {
      const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: ADMIN.clientId, client_secret: ADMIN.clientSecret });
      const urlencoded = await h.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: form.toString(),
      });
      assert.equal(urlencoded.statusCode, 200);
      const query = await h.app.inject({ method: 'POST', url: `/oauth/token?${form.toString()}` });
      assert.equal(query.statusCode, 200);
      assert.ok(query.json().access_token);
    });

    test('wrong secret or unknown client → 401 {error}', async () => {
      for (const [id, secret] of [
        [ADMIN.clientId, 'wrong-secret-wrong-secret'],
        ['nobody', ADMIN.clientSecret],
      ]) {
        const res = await h.app.inject({ method: 'POST', url: `/oauth/token?grant_type=client_credentials&client_id=${id}&client_secret=${secret}` });
        assert.equal(res.statusCode, 401);
        assert.equal(res.json().error, 'invalid_client');
      }
    });

    test('missing fields or another grant → 400 {error}', async () => {
      const missing = await h.app.inject({ method: 'POST', url: '/oauth/token?grant_type=client_credentials' });
      assert.equal(missing.statusCode, 400);
      assert.equal(missing.json().error, 'invalid_request');
      const grant = await h.app.inject({ method: 'POST', url: `/oauth/token?grant_type=password&client_id=a&client_secret=b` });
      assert.equal(grant.json().error, 'unsupported_grant_type');
    });
  });

  describe('bearer tokens', () => {
    test('no token, a malformed one, a forged one, an expired one → 401 {error}', async () => {
      const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const claims = { tenant_id: 'default', identity_id: h.admin.identity.id, user_name: 'admin', client_id: 'x', authorities: ['ORG_ADMIN'] };
      const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: 'forged' }).setIssuer('nelm').setExpirationTime('1h').sign(privateKey);
      const [realKid] = (await h.app.services.tokens.jwks()).keys.map((k) => k.kid);
      const forgedWithRealKid = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA', kid: realKid! })
        .setIssuer('nelm')
        .setExpirationTime('1h')
        .sign(privateKey);
      for (const header of [undefined, 'Basic abc', 'Bearer not-a-jwt', `Bearer ${forged}`, `Bearer ${forgedWithRealKid}`]) {
        const res = await h.app.inject({ method: 'GET', url: '/v3/non-employee-sources', headers: header ? { authorization: header } : {} });
        assert.equal(res.statusCode, 401, String(header));
        assert.equal(typeof res.json().error, 'string');
        assert.deepEqual(Object.keys(res.json()), ['error']);
      }
    });

    test('an expired token says so', async () => {
      const short = await harness({ tokenTtl: 1 });
      try {
        const { token } = await short.app.services.tokens.issue({
          tenantId: 'default',
          identityId: short.admin.identity.id,
          alias: 'admin',
          clientId: ADMIN.clientId,
          admin: true,
          rights: [],
        });
        await new Promise((r) => setTimeout(r, 2100));
        const res = await short.request('GET', '/v2024/non-employee-sources', token);
        assert.equal(res.statusCode, 401);
        assert.equal(res.json().error, 'JWT validation failed: JWT is expired');
      } finally {
        await short.close();
      }
    });

    test('tokens signed before a key rotation stay valid; new ones use the new key', async () => {
      const before = h.admin.token;
      const kid = await h.app.services.tokens.rotate();
      const res = await h.request('GET', '/v2024/non-employee-sources', before);
      assert.equal(res.statusCode, 200);
      const { token } = await h.app.services.tokens.issue({
        tenantId: 'default',
        identityId: h.admin.identity.id,
        alias: 'admin',
        clientId: ADMIN.clientId,
        admin: true,
        rights: [],
      });
      const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
      assert.equal(header.kid, kid);
      assert.equal((await h.request('GET', '/v2024/non-employee-sources', token)).statusCode, 200);
      const jwks = await h.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
      assert.ok(jwks.json().keys.length >= 2);
      assert.ok(
        jwks.json().keys.every((k: Record<string, unknown>) => k.d === undefined),
        'no private parts in the JWKS',
      );
    });
  });

  describe('errors', () => {
    test('unknown routes → 404 ErrorResponseDto with the request id as trackingId', async () => {
      const res = await h.request('GET', '/v2024/no-such-thing', h.admin.token);
      assert.equal(res.statusCode, 404);
      const body = errorOf(res);
      assert.equal(body.detailCode, '404 Not found');
      assert.match(body.trackingId, /^[0-9a-f]{32}$/);
      assert.deepEqual(body.messages[0], {
        locale: 'en-US',
        localeOrigin: 'DEFAULT',
        text: 'The server did not find a current representation for the target resource.',
      });
    });

    test('malformed JSON, a wrong content type, a schema violation, an oversize body → 400 naming the field', async () => {
      const malformed = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, '{"name": ', { 'content-type': 'application/json' });
      assert.equal(malformed.statusCode, 400);
      assert.equal(errorOf(malformed).detailCode, '400.1 Bad Request Content');

      const wrongType = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, 'name=x', { 'content-type': 'text/plain' });
      assert.equal(wrongType.statusCode, 400);
      assert.match(errorOf(wrongType).causes[0]!.text, /Content-Type/);

      const invalid = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, { name: 5, owner: {} });
      assert.equal(invalid.statusCode, 400);
      const texts = errorOf(invalid).causes.map((c) => c.text);
      assert.ok(texts.includes('name must be string'), texts.join(' | '));
      assert.ok(texts.includes('description is required'), texts.join(' | '));
      assert.ok(texts.includes('owner.id is required'), texts.join(' | '));

      const huge = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }), {
        'content-type': 'application/json',
      });
      assert.equal(huge.statusCode, 400);
      assert.match(errorOf(huge).causes[0]!.text, /larger/);
    });

    test('prototype-pollution keys are refused', async () => {
      const res = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, '{"__proto__": {"admin": true}, "name": "x"}', {
        'content-type': 'application/json',
      });
      assert.equal(res.statusCode, 400);
      errorOf(res);
    });

    test('bad path ids → 400 naming the parameter', async () => {
      const res = await h.request('GET', '/v2024/non-employee-sources/not-an-id', h.admin.token);
      assert.equal(res.statusCode, 400);
      assert.match(errorOf(res).causes[0]!.text, /sourceId/);
    });
  });

  describe('rate limit', () => {
    test('answers 429 {message} with Retry-After past the configured budget, per client', async () => {
      const limited = await harness({ rateLimit: { max: 3, windowSeconds: 60 } });
      try {
        const statuses: number[] = [];
        let last: Awaited<ReturnType<typeof limited.request>> | undefined;
        for (let i = 0; i < 5; i++) {
          last = await limited.request('GET', '/v2024/non-employee-sources', limited.admin.token);
          statuses.push(last.statusCode);
        }
        assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
        assert.equal(last!.json().message, ' Rate Limit Exceeded ');
        assert.ok(Number(last!.headers['retry-after']) > 0);
        const other = await limited.caller('other', { rights: ['idn:nesr:read'] });
        assert.equal((await limited.request('GET', '/v2024/non-employee-sources', other.token)).statusCode, 200);
      } finally {
        await limited.close();
      }
    });
  });

  describe('admin API', () => {
    test('creates identities and clients whose credentials work, for org admins only', async () => {
      const created = await h.request('POST', '/admin/v1/identities', h.admin.token, {
        alias: 'jane.doe',
        name: 'Jane Doe',
        email: 'jane@example.com',
        rights: ['idn:nesr:read'],
      });
      assert.equal(created.statusCode, 200);
      const jane = created.json();
      assert.match(jane.id, /^[0-9a-f]{32}$/);
      assert.deepEqual(
        { ...jane, id: undefined },
        { id: undefined, alias: 'jane.doe', name: 'Jane Doe', email: 'jane@example.com', admin: false, rights: ['idn:nesr:read'], disabled: false },
      );

      const duplicate = await h.request('POST', '/admin/v1/identities', h.admin.token, { alias: 'jane.doe' });
      assert.equal(errorOf(duplicate).detailCode, '400.1.409 Reference conflict');

      const client = await h.request('POST', `/admin/v1/identities/${jane.id}/clients`, h.admin.token);
      assert.equal(client.statusCode, 200);
      const { clientId, clientSecret } = client.json();
      const token = await h.app.inject({
        method: 'POST',
        url: `/oauth/token?grant_type=client_credentials&client_id=${clientId}&client_secret=${clientSecret}`,
      });
      assert.equal(token.statusCode, 200);
      const janeToken = token.json().access_token;

      const forbidden = await h.request('GET', '/admin/v1/identities', janeToken);
      assert.equal(forbidden.statusCode, 403);
      assert.equal(errorOf(forbidden).detailCode, '403 Forbidden');

      const list = await h.request('GET', '/admin/v1/identities?count=true', h.admin.token);
      assert.ok(list.json().some((i: { alias: string }) => i.alias === 'jane.doe'));
      assert.equal(Number(list.headers['x-total-count']), list.json().length);

      const stored = await h.app.db.kysely.selectFrom('api_clients').select('secret_hash').where('client_id', '=', clientId).executeTakeFirstOrThrow();
      assert.ok(!stored.secret_hash.includes(clientSecret));
      assert.match(stored.secret_hash, /^scrypt\$/);
    });

    test('deleting an API client revokes its tokens at once', async () => {
      const bob = (await h.request('POST', '/admin/v1/identities', h.admin.token, { alias: 'bob', rights: ['idn:nesr:read'] })).json();
      const { clientId, clientSecret } = (await h.request('POST', `/admin/v1/identities/${bob.id}/clients`, h.admin.token)).json();
      const token = (
        await h.app.inject({ method: 'POST', url: `/oauth/token?grant_type=client_credentials&client_id=${clientId}&client_secret=${clientSecret}` })
      ).json().access_token;
      assert.equal((await h.request('GET', '/v2024/non-employee-sources', token)).statusCode, 200);
      const clients = (await h.request('GET', `/admin/v1/identities/${bob.id}/clients`, h.admin.token)).json();
      assert.deepEqual(
        clients.map((c: { clientId: string }) => c.clientId),
        [clientId],
      );
      assert.equal((await h.request('DELETE', `/admin/v1/clients/${clientId}`, h.admin.token)).statusCode, 204);
      const after = await h.request('GET', '/v2024/non-employee-sources', token);
      assert.equal(after.statusCode, 401);
      assert.match(after.json().error, /deleted/);
      const again = await h.app.inject({
        method: 'POST',
        url: `/oauth/token?grant_type=client_credentials&client_id=${clientId}&client_secret=${clientSecret}`,
      });
      assert.equal(again.statusCode, 401);
      assert.equal((await h.request('DELETE', `/admin/v1/clients/${clientId}`, h.admin.token)).statusCode, 404);
    });

    test('governance groups: create, get, patch, delete; members must exist', async () => {
      const a = await h.caller('wg.a');
      const b = await h.caller('wg.b');
      const created = await h.request('POST', '/admin/v1/workgroups', h.admin.token, { name: 'Approvers', members: [a.identity.id] });
      assert.equal(created.statusCode, 200);
      const group = created.json();
      assert.deepEqual(group.members, [a.identity.id]);
      const patched = await h.request('PATCH', `/admin/v1/workgroups/${group.id}`, h.admin.token, { members: [a.identity.id, b.identity.id] });
      assert.deepEqual(patched.json().members.sort(), [a.identity.id, b.identity.id].sort());
      const bad = await h.request('POST', '/admin/v1/workgroups', h.admin.token, { name: 'Ghosts', members: ['0123456789abcdef0123456789abcdef'] });
      assert.equal(bad.statusCode, 400);
      assert.match(errorOf(bad).causes[0]!.text, /0123456789abcdef0123456789abcdef/);
      const source = (
        await h.request('POST', '/v2024/non-employee-sources', h.admin.token, {
          name: 'Uses a group',
          description: '',
          owner: { id: a.identity.id },
          approvers: [{ id: group.id }],
        })
      ).json();
      const refused = await h.request('DELETE', `/admin/v1/workgroups/${group.id}`, h.admin.token);
      assert.equal(refused.statusCode, 400);
      assert.equal(errorOf(refused).detailCode, '400.1.409 Reference conflict');
      assert.match(errorOf(refused).messages[0]!.text, new RegExp(source.id));
      await h.request('DELETE', `/v2024/non-employee-sources/${source.id}`, h.admin.token);
      assert.equal((await h.request('DELETE', `/admin/v1/workgroups/${group.id}`, h.admin.token)).statusCode, 204);
      assert.equal((await h.request('GET', `/admin/v1/workgroups/${group.id}`, h.admin.token)).statusCode, 404);
    });
  });

  test('GET /health and the served OpenAPI need no token', async () => {
    assert.equal((await h.app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/v2024/non-employee-sources'].get);
    assert.equal(doc.paths['/non-employee-sources/v1/{sourceId}'].get.operationId, 'getNonEmployeeSourceV1');
  });
});
