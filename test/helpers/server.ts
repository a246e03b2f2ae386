/**
 * The real server for end-to-end tests: the app built exactly as in production, listening on a free
 * port of 127.0.0.1, so that real HTTP clients (the official SDK, fetch) talk to it over a socket.
 * SQLite in memory by default; with a postgres:// DATABASE_URL a private schema, dropped by close().
 */
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { Config } from '../../src/config/config.js';
import type { Right } from '../../src/auth/principal.js';
import type { Identity } from '../../src/modules/directory/model.js';
import { ADMIN, dropSchema, testConfig } from './app.js';

export interface TestServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  baseUrl: string;
  app: FastifyInstance;
  config: Config;
  close(): Promise<void>;
}

export async function startTestServer(overrides: Partial<Config> = {}, env: NodeJS.ProcessEnv = {}): Promise<TestServer> {
  const config = testConfig(overrides, env);
  let app: FastifyInstance | undefined;
  try {
    app = await buildApp(config, { logger: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
  } catch (error) {
    await app?.close().catch(() => undefined);
    await dropSchema(config);
    throw error;
  }
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error(`unexpected listen address ${String(address)}`);
  const listening = app;
  let closed = false;
  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    app: listening,
    config,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await listening.close();
      } finally {
        await dropSchema(config);
      }
    },
  };
}

/** A token through the real token endpoint, as multipart/form-data (what the official SDK sends). */
export async function fetchToken(baseUrl: string, clientId: string, clientSecret: string): Promise<string> {
  const form = new FormData();
  form.append('grant_type', 'client_credentials');
  form.append('client_id', clientId);
  form.append('client_secret', clientSecret);
  const response = await fetch(`${baseUrl}/oauth/token`, { method: 'POST', body: form });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST /oauth/token → ${response.status}: ${text}`);
  const token = (JSON.parse(text) as { access_token?: unknown }).access_token;
  if (typeof token !== 'string') throw new Error(`POST /oauth/token: no access_token in ${text}`);
  return token;
}

const adminTokens = new WeakMap<TestServer, Promise<string>>();

/** The org admin's token (the ADMIN client of testConfig), fetched once per server. */
export function adminToken(server: TestServer): Promise<string> {
  let token = adminTokens.get(server);
  if (!token) {
    token = fetchToken(server.baseUrl, ADMIN.clientId, ADMIN.clientSecret);
    token.catch(() => adminTokens.delete(server));
    adminTokens.set(server, token);
  }
  return token;
}

async function adminCall<T>(server: TestServer, method: string, url: string, body?: unknown): Promise<T> {
  const response = await fetch(`${server.baseUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${await adminToken(server)}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${method} ${url} → ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

export interface ApiUser {
  identity: Identity;
  clientId: string;
  clientSecret: string;
}

/**
 * Creates an identity with the given rights (or an org admin) and an API client for it, through
 * the admin HTTP API: `POST /admin/v1/identities`, then `POST /admin/v1/identities/{id}/clients`.
 */
export async function createApiUser(
  server: TestServer,
  alias: string,
  options: { rights?: Right[]; admin?: boolean; name?: string; email?: string } = {},
): Promise<ApiUser> {
  const identity = await adminCall<Identity>(server, 'POST', '/admin/v1/identities', {
    alias,
    name: options.name ?? alias,
    email: options.email ?? `${alias}@example.com`,
    admin: options.admin ?? false,
    rights: options.rights ?? [],
  });
  const { clientId, clientSecret } = await adminCall<{ clientId: string; clientSecret: string }>(server, 'POST', `/admin/v1/identities/${identity.id}/clients`);
  return { identity, clientId, clientSecret };
}

/** Only the identity (no API client): for owners, approvers and account managers who never call. */
export function createIdentity(server: TestServer, alias: string, options: { rights?: Right[]; admin?: boolean } = {}): Promise<Identity> {
  return adminCall<Identity>(server, 'POST', '/admin/v1/identities', {
    alias,
    name: alias,
    email: `${alias}@example.com`,
    admin: options.admin ?? false,
    rights: options.rights ?? [],
  });
}
