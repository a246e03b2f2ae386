/**
 * Shared bench helpers: child processes that serve HTTP on 127.0.0.1 (the NELM server itself, or
 * any script), a free port, and PostgreSQL schema clean-up. Every child is started by the bench
 * and stopped by it (SIGTERM, then SIGKILL after a grace period).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import pg from 'pg';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const BENCH_ADMIN = { clientId: 'bench-admin', clientSecret: 'bench-admin-secret-0123456789' };

/**
 * The node flags `npm start` runs the server with (package.json `scripts.start`), read from there
 * so that a bench measures the server as it is started; every child a bench starts gets them, the
 * bare baselines too.
 */
export const SERVER_NODE_FLAGS = startScriptFlags();

function startScriptFlags(): string[] {
  const start = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const match = /^node((?: --[a-z-]+(?:=[\w.-]+)?)*) bin\/nelm\.js serve$/.exec(start);
  if (!match) throw new Error(`package.json scripts.start is not "node [--flag…] bin/nelm.js serve": ${start}`);
  return match[1]!.split(' ').filter(Boolean);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Child {
  baseUrl: string;
  pid: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
}

/**
 * Runs `script` (TypeScript through tsx, node flags as `npm start`'s, then `nodeArgs`) with PORT
 * and HOST=127.0.0.1 set, and waits until
 * GET /health answers 200 (30 s at most).
 */
export async function startChild(script: string, args: string[], env: Record<string, string>, nodeArgs: string[] = []): Promise<Child> {
  const port = await freePort();
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...nodeArgs, '--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const stop = stopper(child);
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${baseUrl}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${path.basename(script)} exited before it listened`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${path.basename(script)} did not start within 30 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { baseUrl, pid: child.pid!, process: child, stop };
}

export interface NelmServer extends Child {
  /** A token of the fixed admin client (valid for NELM_TOKEN_TTL, an hour here). */
  token: string;
  call<T = unknown>(method: string, url: string, body?: unknown): Promise<T>;
}

/**
 * `nelm serve` in a child process of its own: rate limit off, log level warn, the fixed admin
 * client, tokens valid for an hour; `env` names the database (DATABASE_URL, NELM_DATABASE_SCHEMA).
 * `nodeArgs` go to node (e.g. `--cpu-prof`).
 */
/** A JSON call to the API at `baseUrl` with a bearer token: the parsed answer; throws on a status of 300 or more. */
export type ApiCall = <T>(method: string, url: string, body?: unknown, token?: string) => Promise<T>;

export function apiCaller(baseUrl: string, defaultToken: string): ApiCall {
  return async <T>(method: string, url: string, body?: unknown, token = defaultToken): Promise<T> => {
    const res = await fetch(`${baseUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${url} → ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
}

/** A token of an API client (client credentials) from the server (or load balancer) at `baseUrl`. */
export async function oauthToken(baseUrl: string, clientId: string, clientSecret: string): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret });
  const response = await fetch(`${baseUrl}/oauth/token`, { method: 'POST', body: form });
  if (!response.ok) throw new Error(`token → ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** A token of the bench's admin client from the server (or load balancer) at `baseUrl`. */
export function benchAdminToken(baseUrl: string): Promise<string> {
  return oauthToken(baseUrl, BENCH_ADMIN.clientId, BENCH_ADMIN.clientSecret);
}

export async function startNelm(env: Record<string, string>, nodeArgs: string[] = []): Promise<NelmServer> {
  const child = await startChild(
    path.join(ROOT, 'src', 'cli', 'main.ts'),
    ['serve'],
    {
      NELM_ADMIN_CLIENT_ID: BENCH_ADMIN.clientId,
      NELM_ADMIN_CLIENT_SECRET: BENCH_ADMIN.clientSecret,
      NELM_RATE_LIMIT: 'off',
      NELM_LOG_LEVEL: 'warn',
      NELM_TOKEN_TTL: '3600',
      ...env,
    },
    nodeArgs,
  );
  try {
    const token = await benchAdminToken(child.baseUrl);
    return { ...child, token, call: apiCaller(child.baseUrl, token) };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//.test(url);
}

/** Drops a bench's PostgreSQL schema (and everything in it). */
export async function dropPgSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Whether a PostgreSQL schema exists. */
export async function pgSchemaExists(url: string, schema: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema])).rowCount === 1;
  } finally {
    await client.end();
  }
}
