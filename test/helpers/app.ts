/**
 * A fresh app on a fresh database for each test file (or test): SQLite in memory, or, when
 * DATABASE_URL is a postgres:// URL, a schema of its own that is dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import type { Principal, Right } from '../../src/auth/principal.js';
import type { Identity } from '../../src/modules/directory/model.js';

export const ADMIN = { clientId: 'test-admin', clientSecret: 'test-admin-secret-0123456789' };
export const PG_URL = /^postgres/.test(process.env.DATABASE_URL ?? '') ? process.env.DATABASE_URL : undefined;

export function testConfig(overrides: Partial<Config> = {}, env: NodeJS.ProcessEnv = {}): Config {
  const schema = PG_URL ? `t_${randomBytes(6).toString('hex')}` : undefined;
  return loadConfig(
    {
      DATABASE_URL: PG_URL ?? ':memory:',
      ...(schema ? { NELM_DATABASE_SCHEMA: schema } : {}),
      NELM_ADMIN_CLIENT_ID: ADMIN.clientId,
      NELM_ADMIN_CLIENT_SECRET: ADMIN.clientSecret,
      NELM_RATE_LIMIT: 'off',
      // Locks after failed authentication: test/http/hardening.test.ts turns them on.
      NELM_AUTH_THROTTLE: 'off',
      NELM_LOG_LEVEL: 'silent',
      // Secrets and passwords hashed at the lowest cost: the tests make hundreds
      // (test/unit/secrets.test.ts checks both default costs).
      NELM_SECRET_HASH_COST: '10',
      NELM_PASSWORD_HASH_COST: '10',
      ...env,
    },
    overrides,
  );
}

export async function dropSchema(config: Config): Promise<void> {
  if (config.engine !== 'postgres' || !config.databaseSchema) return;
  const client = new pg.Client({ connectionString: config.databaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${config.databaseSchema}" CASCADE`);
  } finally {
    await client.end();
  }
}

export interface Caller {
  identity: Identity;
  token: string;
}

/** The harness's admin as a service sees it, for tests that call a service directly. */
export function adminPrincipal(h: Pick<Harness, 'config' | 'admin'>): Principal {
  return { tenantId: h.config.tenant, identityId: h.admin.identity.id, alias: 'admin', clientId: ADMIN.clientId, admin: true, rights: new Set<Right>() };
}

export interface Harness {
  app: FastifyInstance;
  config: Config;
  admin: Caller;
  /** Creates an identity and a token for it (signed directly: no slow secret hashing). */
  caller(alias: string, options?: { rights?: Right[]; admin?: boolean; email?: string }): Promise<Caller>;
  request(
    method: InjectOptions['method'],
    url: string,
    token: string | undefined,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export async function harness(overrides: Partial<Config> = {}, env: NodeJS.ProcessEnv = {}): Promise<Harness> {
  const config = testConfig(overrides, env);
  const app = await buildApp(config, { logger: false });
  await app.ready();
  const { directory, tokens } = app.services;

  // Tokens are signed directly, for a real API client of the identity (tokens of unknown clients
  // are refused).
  const tokenFor = async (identity: Identity, clientId?: string) =>
    (
      await tokens.issue({
        tenantId: config.tenant,
        identityId: identity.id,
        alias: identity.alias,
        clientId: clientId ?? (await directory.createClient(config.tenant, identity.id)).clientId,
        admin: identity.admin,
        rights: identity.rights,
      })
    ).token;

  const adminIdentity = (await directory.identityByAlias(config.tenant, 'admin'))!;
  const admin: Caller = { identity: adminIdentity, token: await tokenFor(adminIdentity, ADMIN.clientId) };

  return {
    app,
    config,
    admin,
    async caller(alias, options = {}) {
      const identity = await directory.createIdentity(config.tenant, {
        alias,
        name: alias,
        email: options.email ?? `${alias}@example.com`,
        admin: options.admin ?? false,
        rights: options.rights ?? [],
      });
      return { identity, token: await tokenFor(identity) };
    },
    request(method, url, token, body, headers = {}) {
      const payloadHeaders: Record<string, string> = body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {};
      return app.inject({
        method,
        url,
        headers: { ...payloadHeaders, ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
        ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
    },
    async close() {
      await app.close();
      await dropSchema(config);
    },
  };
}

/** Asserts the SailPoint ErrorResponseDto shape and returns the body. */
export function errorOf(response: LightMyRequestResponse): {
  detailCode: string;
  trackingId: string;
  messages: { text: string }[];
  causes: { text: string }[];
} {
  const body = response.json();
  if (typeof body.detailCode !== 'string' || typeof body.trackingId !== 'string' || !Array.isArray(body.messages) || !Array.isArray(body.causes)) {
    throw new Error(`not an ErrorResponseDto: ${response.body}`);
  }
  if (body.trackingId !== response.headers['x-request-id']) throw new Error('trackingId differs from X-Request-Id');
  return body;
}
