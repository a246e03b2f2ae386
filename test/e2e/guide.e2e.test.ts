/**
 * docs/guide.md as a reader runs it: its shell blocks, from the second on (the first starts the
 * server), pasted into one bash against a listening server. The guide's server address and admin
 * credentials become the test server's; `npx nelm` becomes the built command.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ADMIN } from '../helpers/app.js';
import { CLI, ROOT } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const run = promisify(execFile);
const GUIDE = readFileSync(path.join(ROOT, 'docs', 'guide.md'), 'utf8');
const GUIDE_BASE = 'http://localhost:8080';
const GUIDE_ADMIN = { clientId: 'admin', clientSecret: 'change-me-0123456789' };

/** The guide's ```sh blocks, in order. */
const blocks = [...GUIDE.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);

describe('docs/guide.md', () => {
  let server: TestServer;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-guide-'));
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the first block starts the server with the credentials the others use', () => {
    assert.match(blocks[0]!, new RegExp(`NELM_ADMIN_CLIENT_ID=${GUIDE_ADMIN.clientId} NELM_ADMIN_CLIENT_SECRET=${GUIDE_ADMIN.clientSecret} npm start`));
    assert.match(blocks[1]!, new RegExp(`^BASE=${GUIDE_BASE}$`, 'm'));
  });

  test('every command works and prints what the guide says', async () => {
    const script = blocks
      .slice(1)
      .join('\n')
      .replace(`BASE=${GUIDE_BASE}`, `BASE=${server.baseUrl}`)
      .replaceAll(`token ${GUIDE_ADMIN.clientId} ${GUIDE_ADMIN.clientSecret}`, `token ${ADMIN.clientId} ${ADMIN.clientSecret}`)
      .replaceAll(
        `--client-id ${GUIDE_ADMIN.clientId} --client-secret ${GUIDE_ADMIN.clientSecret}`,
        `--client-id ${ADMIN.clientId} --client-secret ${ADMIN.clientSecret}`,
      )
      .replaceAll('npx nelm ', `node ${CLI.join(' ')} `);
    assert.doesNotMatch(script, new RegExp(GUIDE_ADMIN.clientSecret), 'every use of the admin credentials was replaced');
    const { stdout, stderr } = await run('bash', ['-e', '-u', '-o', 'pipefail', '-c', script], { cwd: dir, timeout: 60_000 });

    // The outputs the guide shows as `# VALUE` comments, in order.
    const promised = [...GUIDE.matchAll(/ # (\S+)$/gm)].map((m) => m[1]!);
    assert.deepEqual(promised, ['department', 'PENDING', 'APPROVED']);
    const lines = stdout.split('\n');
    let at = 0;
    for (const value of promised) {
      at = lines.indexOf(value, at);
      assert.ok(at >= 0, `${value} is printed, in order:\n${stdout}`);
    }
    assert.ok(lines.includes('ada.lovelace'), stdout);
    assert.match(stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z$/m, 'the request names its completion date');
    assert.match(stdout, /^accountName,firstName,lastName,phone,email,manager,startDate,endDate,department$/m, 'the template');
    const job = JSON.parse(lines.find((line) => line.startsWith('{'))!);
    assert.equal(job.status, 'COMPLETED');
    assert.deepEqual(job.counts, { created: 2, updated: 0, unchanged: 0, failed: 0 });
    assert.match(stderr, /imported 2 rows: 2 created/);
    const exported = lines.filter((line) => /^(ada\.lovelace|grace\.hopper|alan\.turing),/.test(line));
    assert.equal(exported.length, 3, `the export lists the three records:\n${stdout}`);
  });
});
