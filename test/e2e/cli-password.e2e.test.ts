/** `nelm identities set-password`, as a user runs it: the built command, the password on standard input. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { dropSchema, PG_URL, testConfig } from '../helpers/app.js';
import { CLI } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-password-'));
const config = testConfig();
const env: NodeJS.ProcessEnv = {
  ...process.env,
  DATABASE_URL: PG_URL ?? path.join(dir, 'nelm.sqlite'),
  ...(config.databaseSchema ? { NELM_DATABASE_SCHEMA: config.databaseSchema } : {}),
  NELM_LOG_LEVEL: 'warn',
  NELM_PASSWORD_HASH_COST: '10',
};
delete env.NELM_ADMIN_CLIENT_ID;
delete env.NELM_ADMIN_CLIENT_SECRET;

/** Runs `nelm` with `input` on standard input: exit code and output. */
function nelm(args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [...CLI, ...args], { env, cwd: dir }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code) : 0, stdout, stderr }),
    );
    child.stdin!.end(input);
  });
}

before(async () => {
  assert.equal((await nelm(['migrate'])).code, 0);
  assert.equal((await nelm(['identities', 'add', '--alias', 'jane.doe', '--email', 'jane@example.com'])).code, 0);
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropSchema(config);
});

test('set-password --help names it; without --alias it is a usage error', async () => {
  const help = await nelm(['identities', '--help']);
  assert.match(help.stdout, /identities set-password --alias A/);
  assert.equal((await nelm(['identities', 'set-password'], 'x\n')).code, 2);
});

test('a weak password is refused naming password, and never printed; a good one is set and signs in', async () => {
  const weak = await nelm(['identities', 'set-password', '--alias', 'jane.doe'], 'Password123!\n');
  assert.equal(weak.code, 1);
  assert.match(weak.stderr, /password is too common/);
  assert.ok(!`${weak.stdout}${weak.stderr}`.includes('Password123!'));
  const unknown = await nelm(['identities', 'set-password', '--alias', 'nobody'], 'violet-harbour-lantern-42\n');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /No identity with alias "nobody"/);

  const good = await nelm(['identities', 'set-password', '--alias', 'jane.doe'], 'violet-harbour-lantern-42\n');
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stderr, /the password of jane\.doe is set/);
  assert.ok(!`${good.stdout}${good.stderr}`.includes('violet-harbour-lantern-42'));

  const app = await buildApp(loadConfig({ ...env, NELM_LOG_LEVEL: 'silent' }), { logger: false });
  try {
    const signIn = (password: string) => app.inject({ method: 'POST', url: '/console/api/session', payload: { username: 'jane@example.com', password } });
    assert.equal((await signIn('violet-harbour-lantern-42')).statusCode, 200);
    assert.equal((await signIn('violet-harbour-lantern-42\n')).statusCode, 401, 'the line ending is not part of it');
  } finally {
    await app.close();
  }
});
