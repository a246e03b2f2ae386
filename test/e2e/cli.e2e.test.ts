/** The `nelm` command as a user runs it: the built command in a child process, on a real database. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { dropSchema, PG_URL, testConfig } from '../helpers/app.js';
import { CLI, ROOT } from '../helpers/cli.js';

const run = promisify(execFile);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('nelm CLI', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-cli-'));
  const config = testConfig();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: PG_URL ?? path.join(dir, 'nelm.sqlite'),
    ...(config.databaseSchema ? { NELM_DATABASE_SCHEMA: config.databaseSchema } : {}),
    NELM_LOG_LEVEL: 'warn',
    NELM_RATE_LIMIT: 'off',
  };
  delete env.NELM_ADMIN_CLIENT_ID;
  delete env.NELM_ADMIN_CLIENT_SECRET;
  const nelm = (...args: string[]) => run(process.execPath, [...CLI, ...args], { env, cwd: dir });

  before(async () => {
    await nelm('migrate');
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await dropSchema(config);
  });

  test('migrate twice is a no-op the second time', async () => {
    const { stdout } = await nelm('migrate');
    assert.match(stdout, /up to date/);
  });

  test('identities add prints the identity; clients add prints working credentials; serve accepts them', async () => {
    const { stdout } = await nelm(
      'identities',
      'add',
      '--alias',
      'jane.doe',
      '--name',
      'Jane Doe',
      '--email',
      'jane@example.com',
      '--rights',
      'idn:nesr:read,idn:nesr:create',
    );
    const identity = JSON.parse(stdout);
    assert.match(identity.id, /^[0-9a-f]{32}$/);
    assert.deepEqual(identity.rights, ['idn:nesr:read', 'idn:nesr:create']);
    assert.equal(identity.admin, false);

    const creds = JSON.parse((await nelm('clients', 'add', '--identity', 'jane.doe')).stdout);
    assert.match(creds.clientId, /^[0-9a-f]{32}$/);
    assert.ok(creds.clientSecret.length >= 32);

    const port = await freePort();
    const server = spawn(process.execPath, [...CLI, 'serve'], {
      env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    server.stdout.on('data', (d) => (output += d));
    try {
      const base = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 600; i++) {
        try {
          if ((await fetch(`${base}/health`)).ok) break;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const form = new FormData();
      form.set('grant_type', 'client_credentials');
      form.set('client_id', creds.clientId);
      form.set('client_secret', creds.clientSecret);
      const token = (await (await fetch(`${base}/oauth/token`, { method: 'POST', body: form })).json()) as { access_token: string };
      const sources = await fetch(`${base}/v2024/non-employee-sources`, { headers: { authorization: `Bearer ${token.access_token}` } });
      assert.equal(sources.status, 200);
      assert.ok(!output.includes(creds.clientSecret), 'the server never prints a client secret it did not generate');
      assert.ok(!output.includes(token.access_token), 'the server never prints a token');
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
  });

  test('identities add --admin makes an org admin; a duplicate alias fails with exit code 1', async () => {
    const admin = JSON.parse((await nelm('identities', 'add', '--alias', 'root', '--admin')).stdout);
    assert.equal(admin.admin, true);
    await assert.rejects(nelm('identities', 'add', '--alias', 'root'), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr, /already exists/);
      assert.equal(error.stderr.split('already exists').length, 2, `said once: ${error.stderr}`);
      return true;
    });
  });

  test('usage errors exit with 2 and say why', async () => {
    await assert.rejects(nelm('identities', 'add', '--alias', 'x', '--rights', 'idn:nesr:fly'), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 2);
      assert.match(error.stderr, /unknown rights: idn:nesr:fly/);
      return true;
    });
    await assert.rejects(nelm('clients', 'add', '--identity', 'nobody'), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr, /No identity with alias "nobody"/);
      return true;
    });
    await assert.rejects(nelm('frobnicate'), (error: { code: number }) => error.code === 2);
  });

  test('--help on every command prints its usage and exits 0, starting nothing; --version prints the version', async () => {
    const { stdout } = await nelm('--help');
    assert.match(stdout, /^Usage: nelm <command>/);
    for (const command of ['serve', 'migrate', 'identities', 'clients', 'keys', 'import', 'export']) {
      for (const flag of ['--help', '-h']) {
        const started = Date.now();
        const shown = await nelm(command, flag);
        assert.match(shown.stdout, new RegExp(`^Usage: nelm ${command}`), `${command} ${flag}`);
        assert.equal(shown.stderr, '', `${command} ${flag} opens no database`);
        assert.ok(Date.now() - started < 20_000, `${command} ${flag} returns at once`);
      }
    }
    const version = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;
    assert.equal((await nelm('--version')).stdout, `${version}\n`);
  });

  test('the default database is data/nelm.sqlite of the checkout, from any directory; a command that only reads creates none', async () => {
    const { DATABASE_URL: _url, NELM_DATABASE_SCHEMA: _schema, ...withoutDatabase } = env;
    const where = path.join(ROOT, 'data', 'nelm.sqlite');
    const result = await run(process.execPath, [...CLI, 'identities', 'list'], { env: withoutDatabase, cwd: path.join(ROOT, 'src') }).then(
      ({ stderr }) => stderr,
      (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 1);
        return error.stderr;
      },
    );
    assert.ok(result.includes(where), result);
    assert.equal(existsSync(path.join(ROOT, 'src', 'data')), false, 'nothing made in the working directory');

    const missing = path.join(dir, 'missing', 'nelm.sqlite');
    await assert.rejects(
      run(process.execPath, [...CLI, 'identities', 'list'], { env: { ...env, DATABASE_URL: missing }, cwd: dir }),
      (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 1);
        assert.equal(
          error.stderr,
          `nelm: There is no database at ${missing}. Start the server (nelm serve) or run nelm migrate to create it, or set DATABASE_URL.\n`,
        );
        return true;
      },
    );
    assert.equal(existsSync(path.dirname(missing)), false);
  });

  test('a second server on the same SQLite file refuses to start, naming the file', { skip: PG_URL ? 'SQLite only' : false }, async () => {
    const port = await freePort();
    const first = spawn(process.execPath, [...CLI, 'serve'], { env: { ...env, PORT: String(port), HOST: '127.0.0.1' }, cwd: dir, stdio: 'ignore' });
    try {
      for (let i = 0; i < 600; i++) {
        try {
          if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break;
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      const second = spawn(process.execPath, [...CLI, 'serve'], { env: { ...env, PORT: String(await freePort()), HOST: '127.0.0.1' }, cwd: dir });
      let stderr = '';
      second.stderr.on('data', (d) => (stderr += d));
      const code = await new Promise((r) => second.once('exit', r));
      assert.equal(code, 1);
      assert.equal(
        stderr,
        `nelm: Another nelm server is using the database ${env.DATABASE_URL}; one server process owns a SQLite file (use PostgreSQL to run several).\n`,
      );
      // The commands still work beside the server.
      assert.ok(JSON.parse((await nelm('identities', 'list')).stdout).some((i: { alias: string }) => i.alias === 'admin'));
    } finally {
      first.kill('SIGTERM');
      await new Promise((r) => first.once('exit', r));
    }
  });

  test('a database that cannot be reached is said to be a connection failure, once', async () => {
    await assert.rejects(
      run(process.execPath, [...CLI, 'migrate'], { env: { ...env, DATABASE_URL: 'postgres://nelm:pw@127.0.0.1:1/nelm' }, cwd: dir }),
      (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 1);
        assert.equal(
          error.stderr,
          'nelm: Could not connect to PostgreSQL at 127.0.0.1:1/nelm: the connection was refused (ECONNREFUSED). Is the server running, and is DATABASE_URL right?\n',
        );
        return true;
      },
    );
  });
});
