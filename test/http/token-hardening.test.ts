/**
 * Bearer tokens the server refuses although signed with its key (no expiry, too long a lifetime,
 * a non-canonical encoding), what a flood of unknown key ids costs, and the private signing keys
 * encrypted at rest: plain rows encrypted at start, a missing key refused, rotation.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type CryptoKey, importJWK, type JWK, SignJWT } from 'jose';
import { buildApp } from '../../src/app.js';
import { KeyRing, keyId } from '../../src/auth/key-encryption.js';
import { TokenService } from '../../src/auth/tokens.js';
import type { Config } from '../../src/config/config.js';
import { ADMIN, dropSchema, harness, type Harness, PG_URL, testConfig } from '../helpers/app.js';

const SOURCES = '/v2024/non-employee-sources';

describe('tokens signed with the real key', () => {
  let h: Harness;
  let claims: Record<string, unknown>;
  let sign: (build: (jwt: SignJWT) => SignJWT, kid?: string) => Promise<string>;
  before(async () => {
    h = await harness();
    const tokens = h.app.services.tokens;
    const signer = (await h.app.db.kysely.selectFrom('signing_keys').selectAll().where('retired', 'is', null).executeTakeFirst())!;
    const privateKey = (await importJWK(JSON.parse(tokens.keyRing.open(signer.private_jwk, signer.kid)) as JWK, 'EdDSA')) as CryptoKey;
    claims = { tenant_id: h.config.tenant, identity_id: h.admin.identity.id, user_name: 'admin', client_id: ADMIN.clientId, authorities: ['ORG_ADMIN'] };
    sign = (build, kid = signer.kid) => build(new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' }).setIssuer('nelm')).sign(privateKey);
  });
  after(async () => h.close());

  const refused = async (token: string, error: string) => {
    const res = await h.request('GET', SOURCES, token);
    assert.equal(res.statusCode, 401, token);
    assert.deepEqual(res.json(), { error });
  };

  test('the same claims with an expiry of a normal token work (the control case)', async () => {
    assert.equal((await h.request('GET', SOURCES, await sign((jwt) => jwt.setIssuedAt().setExpirationTime('10m')))).statusCode, 200);
  });

  test('a token without exp → 401', async () => {
    await refused(await sign((jwt) => jwt.setIssuedAt()), 'JWT validation failed: JWT has no expiry');
  });

  test('a token expiring in ten years → 401, with or without iat', async () => {
    const tooLong = 'JWT validation failed: JWT lives longer than tokens may';
    await refused(await sign((jwt) => jwt.setIssuedAt().setExpirationTime('3650d')), tooLong);
    await refused(await sign((jwt) => jwt.setExpirationTime('3650d')), tooLong);
    // Issued an hour ago for two hours: less than an hour left, but a lifetime above the 749 s maximum.
    const now = Math.floor(Date.now() / 1000);
    await refused(await sign((jwt) => jwt.setIssuedAt(now - 3600).setExpirationTime(now + 3600)), tooLong);
    const service = new TokenService(h.app.db.kysely, 10 * 365 * 86400, h.app.services.tokens.keyRing);
    await service.init();
    const { token } = await service.issue({
      tenantId: h.config.tenant,
      identityId: h.admin.identity.id,
      alias: 'admin',
      clientId: ADMIN.clientId,
      admin: true,
      rights: [],
    });
    await refused(token, tooLong);
  });

  test('only the canonical base64url encoding authenticates', async () => {
    const token = await sign((jwt) => jwt.setIssuedAt().setExpirationTime('10m'));
    assert.equal((await h.request('GET', SOURCES, token)).statusCode, 200);
    const malformed = 'JWT validation failed: malformed token';
    await refused(`${token}==`, malformed);
    // An Ed25519 signature is 64 bytes: 86 characters whose last carries 4 bits that decode to nothing.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = token.at(-1)!;
    const flipped = `${token.slice(0, -1)}${alphabet[alphabet.indexOf(last) ^ 1]}`;
    assert.deepEqual(Buffer.from(flipped.split('.')[2]!, 'base64url'), Buffer.from(token.split('.')[2]!, 'base64url'), 'the same bytes');
    await refused(flipped, malformed);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    for (const variant of [`${header}=.${payload}.${signature}`, `${header}.${payload}.${signature}.`, `${header}.${payload}.+${signature.slice(1)}`]) {
      await refused(variant, malformed);
    }
  });

  test('a flood of unknown key ids costs a bounded number of key reloads', async () => {
    const tokens = h.app.services.tokens;
    let reloads = 0;
    const reload = tokens.reload.bind(tokens);
    tokens.reload = () => {
      reloads++;
      return reload();
    };
    try {
      // A key another process rotated in is found at once: its id is new and no reload ran lately.
      const other = new TokenService(h.app.db.kysely, h.config.tokenTtl, tokens.keyRing);
      await other.init();
      await other.rotate();
      const { token } = await other.issue({
        tenantId: h.config.tenant,
        identityId: h.admin.identity.id,
        alias: 'admin',
        clientId: ADMIN.clientId,
        admin: true,
        rights: [],
      });
      assert.equal((await h.request('GET', SOURCES, token)).statusCode, 200);
      assert.equal(reloads, 1);

      const withKid = (kid: string) => sign((jwt) => jwt.setIssuedAt().setExpirationTime('10m'), kid);
      await new Promise((r) => setTimeout(r, 1100));
      reloads = 0;
      const flood = await Promise.all(Array.from({ length: 300 }, () => withKid(randomBytes(16).toString('hex'))));
      const answers = await Promise.all(flood.map((t) => h.request('GET', SOURCES, t)));
      assert.ok(
        answers.every((r) => r.statusCode === 401),
        'all refused',
      );
      assert.ok(reloads <= 2, `${reloads} reloads for 300 unknown key ids`);

      // A key id a reload did not find is remembered: the same id again, later, costs nothing.
      const repeated = await withKid('remembered');
      await new Promise((r) => setTimeout(r, 1100));
      reloads = 0;
      assert.equal((await h.request('GET', SOURCES, repeated)).statusCode, 401);
      assert.equal(reloads, 1);
      await new Promise((r) => setTimeout(r, 1100));
      for (let i = 0; i < 20; i++) assert.equal((await h.request('GET', SOURCES, repeated)).statusCode, 401);
      assert.equal(reloads, 1);
    } finally {
      tokens.reload = reload;
    }
  });
});

describe('private signing keys at rest', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-keys-'));
  const schema = PG_URL ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);
  const configWith = (env: NodeJS.ProcessEnv): Config =>
    testConfig({}, { DATABASE_URL: PG_URL ?? path.join(dir, 'nelm.sqlite'), ...(schema ? { NELM_DATABASE_SCHEMA: schema } : {}), ...env });
  const withApp = async <T>(env: NodeJS.ProcessEnv, work: (app: Awaited<ReturnType<typeof buildApp>>) => Promise<T>): Promise<T> => {
    const app = await buildApp(configWith(env), { logger: false });
    try {
      return await work(app);
    } finally {
      await app.close();
    }
  };
  const storedKeys = (app: Awaited<ReturnType<typeof buildApp>>) => app.db.kysely.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute();
  const adminToken = async (app: Awaited<ReturnType<typeof buildApp>>) => {
    const res = await app.inject({
      method: 'POST',
      url: `/oauth/token?grant_type=client_credentials&client_id=${ADMIN.clientId}&client_secret=${ADMIN.clientSecret}`,
    });
    assert.equal(res.statusCode, 200);
    return res.json().access_token as string;
  };
  const works = async (app: Awaited<ReturnType<typeof buildApp>>, token: string) =>
    (await app.inject({ method: 'GET', url: SOURCES, headers: { authorization: `Bearer ${token}` } })).statusCode === 200;

  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    if (schema) await dropSchema(configWith({}));
  });

  test('stored encrypted; plain rows of an earlier version are encrypted at start and keep verifying', async () => {
    const env = { NELM_KEY_ENCRYPTION_KEY: keyA.toString('base64') };
    const token = await withApp(env, async (app) => {
      const rows = await storedKeys(app);
      assert.equal(rows.length, 1);
      for (const row of rows) {
        assert.equal(KeyRing.sealedWith(row.private_jwk), keyId(keyA));
        assert.throws(() => JSON.parse(row.private_jwk));
        assert.ok(!row.private_jwk.includes('"d"'));
      }
      // What an earlier version stored: the JWK in plain text.
      const [row] = rows as [{ kid: string; private_jwk: string }];
      const plain = app.services.tokens.keyRing.open(row.private_jwk, row.kid);
      assert.ok(JSON.parse(plain).d);
      await app.db.kysely.updateTable('signing_keys').set({ private_jwk: plain }).where('kid', '=', row.kid).execute();
      return adminToken(app);
    });
    await withApp(env, async (app) => {
      const rows = await storedKeys(app);
      assert.ok(rows.every((row) => KeyRing.sealedWith(row.private_jwk) === keyId(keyA)));
      assert.ok(await works(app, token), 'a token signed before still verifies');
      assert.ok(await works(app, await adminToken(app)), 'new tokens are signed');
    });
  });

  test('a server without the key the rows are encrypted with fails at start, naming the key id', async () => {
    await assert.rejects(
      withApp({ NELM_KEY_ENCRYPTION_KEY: keyB.toString('hex') }, async () => undefined),
      (error: Error) => error.message.includes(`key-encryption key ${keyId(keyA)}`) && error.message.includes('NELM_KEY_ENCRYPTION_KEY_PREVIOUS'),
    );
  });

  test('rotation: the previous key decrypts, the rows are encrypted again under the new one', async () => {
    const token = await withApp({ NELM_KEY_ENCRYPTION_KEY: keyA.toString('base64') }, adminToken);
    await withApp({ NELM_KEY_ENCRYPTION_KEY: keyB.toString('base64'), NELM_KEY_ENCRYPTION_KEY_PREVIOUS: keyA.toString('base64') }, async (app) => {
      assert.ok((await storedKeys(app)).every((row) => KeyRing.sealedWith(row.private_jwk) === keyId(keyB)));
      assert.ok(await works(app, token));
    });
    await withApp({ NELM_KEY_ENCRYPTION_KEY: keyB.toString('base64') }, async (app) => {
      assert.ok(await works(app, token));
      await app.services.tokens.rotate();
      assert.ok(await works(app, await adminToken(app)));
    });
    await assert.rejects(
      withApp({ NELM_KEY_ENCRYPTION_KEY: keyA.toString('base64') }, async () => undefined),
      new RegExp(keyId(keyB)),
    );
  });
});
