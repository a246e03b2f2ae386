/**
 * The server under measurement: `nelm serve` in a child process of its own (so that its memory is
 * measured alone), on the database the caller names. RSS is sampled from /proc/<pid>/status.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { SERVER_NODE_FLAGS } from '../lib/server.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const ADMIN = { clientId: 'bench-admin', clientSecret: 'bench-admin-secret-0123456789' };

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A process's memory, in bytes: VmRSS, VmHWM, and `anon`, its resident anonymous memory
 * (RssAnon: heaps, buffers, native allocations). Growth is measured on `anon`: the SQLite file is
 * read through a memory map, so VmRSS also counts the database pages a run touches, which are the
 * OS page cache (shared, reclaimable), not memory the server holds.
 */
export function memoryOf(pid: number): { rss: number; anon: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), hwm: kb('VmHWM') };
}

/** Samples RssAnon every `everyMs` until stopped; returns the highest value seen. */
export function sampleRss(pid: number, everyMs = 5): () => number {
  let peak = memoryOf(pid).anon;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, memoryOf(pid).anon);
    } catch {
      // the process ended
    }
  }, everyMs);
  return () => {
    clearInterval(timer);
    return Math.max(peak, memoryOf(pid).anon);
  };
}

export interface BenchServer {
  baseUrl: string;
  pid: number;
  token: string;
  call(method: string, url: string, body?: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

export async function startServer(env: Record<string, string>): Promise<BenchServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [...SERVER_NODE_FLAGS, '--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts'), 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      NELM_ADMIN_CLIENT_ID: ADMIN.clientId,
      NELM_ADMIN_CLIENT_SECRET: ADMIN.clientSecret,
      NELM_RATE_LIMIT: 'off',
      NELM_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${baseUrl}/health`)).ok) break;
    } catch {
      if (i > 300 || child.exitCode !== null) throw new Error('the server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const form = new FormData();
  form.set('grant_type', 'client_credentials');
  form.set('client_id', ADMIN.clientId);
  form.set('client_secret', ADMIN.clientSecret);
  const { access_token: token } = (await (await fetch(`${baseUrl}/oauth/token`, { method: 'POST', body: form })).json()) as { access_token: string };
  const call = async (method: string, url: string, body?: unknown) => {
    const response = await fetch(`${baseUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${method} ${url} → ${response.status}: ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  return {
    baseUrl,
    pid: child.pid!,
    token,
    call,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
