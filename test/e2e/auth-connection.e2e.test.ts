/**
 * A keep-alive connection repeats its Authorization header: the server settles a header it
 * accepted last on that connection without parsing or looking up the token again
 * (src/plugins/auth.ts). Over one real connection, every check still applies: another token is
 * its own caller, a deleted client, an expired or forgotten token and a bad header are refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { TokenService } from '../../src/auth/tokens.js';
import { ADMIN } from '../helpers/app.js';
import { adminToken, createApiUser, fetchToken, startTestServer, type TestServer } from '../helpers/server.js';

interface Answer {
  status: number;
  body: string;
  reusedSocket: boolean;
}

/** One connection for every request (keep-alive, one socket). */
function connection(baseUrl: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string, authorization?: string) =>
    new Promise<Answer>((resolve, reject) => {
      const request = http.get(`${baseUrl}${path}`, { agent, headers: authorization ? { authorization } : {} }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, body, reusedSocket: request.reusedSocket }));
      });
      request.on('error', reject);
    });
  return { get, close: () => agent.destroy() };
}

const SOURCES = '/v2024/non-employee-sources';

describe('bearer tokens over one keep-alive connection', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('the same header is answered again; another token on the same connection is its own caller', async () => {
    const admin = `Bearer ${await adminToken(server)}`;
    const reader = await createApiUser(server, 'conn.reader', { rights: [] });
    const noRights = `Bearer ${await fetchToken(server.baseUrl, reader.clientId, reader.clientSecret)}`;
    const c = connection(server.baseUrl);
    try {
      assert.equal((await c.get(SOURCES, admin)).status, 200);
      const again = await c.get(SOURCES, admin);
      assert.equal(again.status, 200);
      assert.ok(again.reusedSocket, 'the second request used the same connection');
      const other = await c.get(SOURCES, noRights);
      assert.ok(other.reusedSocket);
      assert.equal(other.status, 403, other.body);
      assert.equal((await c.get(SOURCES, admin)).status, 200);
      const none = await c.get(SOURCES);
      assert.ok(none.reusedSocket);
      assert.equal(none.status, 401);
      const bad = await c.get(SOURCES, `${admin}x`);
      assert.equal(bad.status, 401);
      assert.equal((await c.get(SOURCES, admin)).status, 200);
    } finally {
      c.close();
    }
  });

  test('a client deleted between two requests of a connection is refused on the second', async () => {
    const user = await createApiUser(server, 'conn.deleted', { admin: true });
    const header = `Bearer ${await fetchToken(server.baseUrl, user.clientId, user.clientSecret)}`;
    const c = connection(server.baseUrl);
    try {
      assert.equal((await c.get(SOURCES, header)).status, 200);
      assert.equal((await c.get(SOURCES, header)).status, 200);
      const deleted = await fetch(`${server.baseUrl}/admin/v1/clients/${user.clientId}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${await adminToken(server)}` },
      });
      assert.equal(deleted.status, 204, await deleted.text());
      const refused = await c.get(SOURCES, header);
      assert.ok(refused.reusedSocket);
      assert.equal(refused.status, 401);
      assert.match(refused.body, /API client was deleted/);
    } finally {
      c.close();
    }
  });

  test('a token that expires, or is forgotten, while its connection stays open', async () => {
    const c = connection(server.baseUrl);
    try {
      // A token of the admin's client that lives 2 s, signed with the server's keys (the server's
      // own tokens live long: the other tests' tokens must not expire under them). Its expiry is
      // counted from the whole second it was issued in, so it lives between 1 and 2 s.
      const shortLived = new TokenService(server.app.db.kysely, 2, server.app.services.tokens.keyRing);
      await shortLived.init();
      const admin = (await server.app.services.directory.identityByAlias(server.config.tenant, 'admin'))!;
      const { token } = await shortLived.issue({
        tenantId: server.config.tenant,
        identityId: admin.id,
        alias: admin.alias,
        clientId: ADMIN.clientId,
        admin: true,
        rights: [],
      });
      const header = `Bearer ${token}`;
      assert.equal((await c.get(SOURCES, header)).status, 200);
      // Forgotten: verified again (still a valid token), so still answered.
      server.app.services.tokens.forgetVerified();
      assert.equal((await c.get(SOURCES, header)).status, 200);
      await new Promise((r) => setTimeout(r, 2100));
      const expired = await c.get(SOURCES, header);
      assert.ok(expired.reusedSocket);
      assert.equal(expired.status, 401);
      assert.match(expired.body, /JWT is expired/);
    } finally {
      c.close();
    }
  });
});
