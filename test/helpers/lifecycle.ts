/**
 * An app whose lifecycle clock the test moves (ManualClock), on the engine DATABASE_URL names,
 * with the harness's callers and requests; `sweep` does everything due at the clock's time and
 * lets the log's consumers (mails, digests, approval planning) read what it appended.
 */
import type { LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { ManualClock } from '../../src/domain/clock.js';
import { ADMIN, dropSchema, testConfig } from './app.js';
import type { Identity } from '../../src/modules/directory/model.js';

export interface LifecycleHarness {
  clock: ManualClock;
  app: Awaited<ReturnType<typeof buildApp>>;
  adminToken: string;
  adminId: string;
  caller(alias: string, rights?: string[]): Promise<{ identity: Identity; token: string }>;
  request(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, token: string, body?: unknown): Promise<LightMyRequestResponse>;
  /** Sweeps and consumes until nothing more is due. */
  sweep(): Promise<void>;
  /** Events of these types, in chain order. */
  events(...types: string[]): Promise<{ type: string; target: { id: string }; actor: unknown; data: Record<string, unknown>; time: string }[]>;
  close(): Promise<void>;
}

export async function lifecycleHarness(
  start: string,
  env: NodeJS.ProcessEnv = {},
  existing?: { config: ReturnType<typeof testConfig> },
): Promise<LifecycleHarness> {
  const config = existing?.config ?? testConfig({}, env);
  const clock = new ManualClock(start);
  const app = await buildApp(config, { logger: false, clock });
  await app.ready();
  const { directory, tokens } = app.services;
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
  const admin = (await directory.identityByAlias(config.tenant, 'admin'))!;
  const adminToken = await tokenFor(admin, ADMIN.clientId);
  const h: LifecycleHarness = {
    clock,
    app,
    adminToken,
    adminId: admin.id,
    async caller(alias, rights = []) {
      const identity = await directory.createIdentity(config.tenant, {
        alias,
        name: alias,
        email: `${alias}@example.com`,
        admin: false,
        rights: rights as never,
      });
      return { identity, token: await tokenFor(identity) };
    },
    request(method, url, token, body) {
      return app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
    },
    async sweep() {
      for (let i = 0; i < 5; i++) {
        await app.services.lifecycleSweep.drain();
        await app.services.consumers.drain();
      }
    },
    async events(...types) {
      const filters = encodeURIComponent(`type in (${types.map((t) => `"${t}"`).join(', ')})`);
      const res = await h.request('GET', `/admin/v1/audit-events?filters=${filters}&limit=250`, adminToken);
      if (res.statusCode !== 200) throw new Error(res.body);
      return res.json();
    },
    async close() {
      await app.close();
      if (!existing) await dropSchema(config);
    },
  };
  return h;
}
