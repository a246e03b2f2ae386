/**
 * Shared by the reliability tests: `nelm serve` as a child process on a database that outlives it
 * (a temp SQLite file, or a private PostgreSQL schema when DATABASE_URL is a postgres:// URL),
 * killed and restarted at will, plus direct SQL on that database to check what was committed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { dropPgSchema, isPostgresUrl, startNelm, type NelmServer } from '../../bench/lib/server.js';

export type { NelmServer };

export interface Store {
  engine: 'sqlite' | 'postgres';
  /** DATABASE_URL (and NELM_DATABASE_SCHEMA) for the server. */
  env: Record<string, string>;
  /** Runs one statement on the database (`?` placeholders on both engines); the rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Starts `nelm serve` on this database; `extra` adds environment (SMTP_URL, …). */
  start(extra?: Record<string, string>): Promise<NelmServer>;
  dispose(): Promise<void>;
}

export function newStore(): Store {
  const url = process.env.DATABASE_URL;
  if (isPostgresUrl(url)) {
    const schema = `rel_${randomBytes(6).toString('hex')}`;
    return {
      engine: 'postgres',
      env: { DATABASE_URL: url, NELM_DATABASE_SCHEMA: schema },
      async query<T>(sql: string, params: unknown[] = []) {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          await client.query(`SET search_path TO "${schema}"`);
          let n = 0;
          return (
            await client.query(
              sql.replace(/\?/g, () => `$${++n}`),
              params,
            )
          ).rows as T[];
        } finally {
          await client.end();
        }
      },
      start: (extra = {}) => startNelm({ DATABASE_URL: url, NELM_DATABASE_SCHEMA: schema, ...extra }),
      dispose: () => dropPgSchema(url, schema),
    };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-rel-'));
  const file = path.join(dir, 'nelm.sqlite');
  return {
    engine: 'sqlite',
    env: { DATABASE_URL: file },
    async query<T>(sql: string, params: unknown[] = []) {
      const db = new Sqlite(file, { timeout: 10_000 });
      try {
        const statement = db.prepare(sql);
        if (statement.reader) return statement.all(...params) as T[];
        statement.run(...params);
        return [];
      } finally {
        db.close();
      }
    },
    start: (extra = {}) => startNelm({ DATABASE_URL: file, ...extra }),
    async dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** SIGKILL: no shutdown hook runs, open transactions are lost mid-flight. */
export function kill(server: NelmServer): Promise<void> {
  return new Promise((resolve) => {
    if (server.process.exitCode !== null || server.process.signalCode !== null) return resolve();
    server.process.once('exit', () => resolve());
    server.process.kill('SIGKILL');
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface ApiClient {
  identity: { id: string; alias: string };
  token: string;
}

/** An identity (with an email address) and a token of an API client of its own. */
export async function apiUser(server: NelmServer, alias: string, options: { admin?: boolean; rights?: string[] } = {}): Promise<ApiClient> {
  const identity = await server.call<{ id: string; alias: string }>('POST', '/admin/v1/identities', {
    alias,
    name: alias,
    email: `${alias}@example.com`,
    admin: options.admin ?? false,
    rights: options.rights ?? [],
  });
  const client = await server.call<{ clientId: string; clientSecret: string }>('POST', `/admin/v1/identities/${identity.id}/clients`);
  const response = await fetch(`${server.baseUrl}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret }),
  });
  if (!response.ok) throw new Error(`token → ${response.status}: ${await response.text()}`);
  return { identity, token: ((await response.json()) as { access_token: string }).access_token };
}

/** A fetch with a bearer token; the status and parsed body. Never throws on HTTP errors. */
// biome-ignore lint/suspicious/noExplicitAny: tests read whichever fields a response has.
export async function call(baseUrl: string, token: string, method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${baseUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: response.status, body: parsed };
}
