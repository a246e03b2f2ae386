/**
 * How fast the pages are with 20,000 records in a source: in Chromium, from the navigation to the
 * page showing its data (the list's `data-ready`), read with the page's own clock
 * (`performance.now()`, whose origin is the navigation's start). The figures (three loads and
 * their median) are printed and reported in docs/console.md against the target of 1 s; the test
 * fails only past 5 s, which no page reaches unless it does something wrong at this size (reads
 * every record, say), so that a busy machine does not fail it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { newId } from '../../src/auth/secrets.js';
import { transaction } from '../../src/db/dialect.js';
import type { NonEmployeeRecord } from '../../src/modules/records/model.js';
import { asAdmin, type ConsoleRig, createPerson, createSource, signIn, startConsole } from '../helpers/console.js';

const RECORDS = 20_000;
const PENDING = 25;
const DAY = 24 * 60 * 60 * 1000;

/** Milliseconds from the navigation's start to the page showing its data. */
async function readyAfter(page: Page, url: string): Promise<number> {
  await page.goto(url, { waitUntil: 'commit' });
  // A function, not a string: the console's CSP forbids eval. Its types: the tests have no DOM.
  const ready = () => {
    const { document } = globalThis as unknown as { document: { querySelector(selector: string): unknown } };
    return document.querySelector('[data-ready="true"]') ? performance.now() : 0;
  };
  const handle = await page.waitForFunction(ready, undefined, { polling: 'raf', timeout: 15_000 });
  const ms = Math.round((await handle.jsonValue()) as number);
  if (process.env.NELM_SPEED_DETAIL === '1') {
    const entries = await page.evaluate(() =>
      performance
        .getEntries()
        .map((e) => `${e.entryType} ${e.name.replace(/^https?:\/\/[^/]+/, '')} start ${Math.round(e.startTime)} took ${Math.round(e.duration)}`),
    );
    console.log(entries.join('\n'));
  }
  return ms;
}

describe('console: speed with 20,000 records in a source', () => {
  let rig: ConsoleRig;
  let page: Page;

  before(async () => {
    rig = await startConsole();
    const pat = await createPerson(rig.server, 'pat.manager', 'Pat Manager');
    const source = await createSource(rig.server, 'Big', pat.id, [pat.id], [pat.id]);
    const now = Date.now();
    const seed: NonEmployeeRecord[] = Array.from({ length: RECORDS }, (_, i) => ({
      id: newId(),
      sourceId: source,
      accountName: `seed.${i}`,
      firstName: `First${i % 997}`,
      lastName: `Last${i}`,
      email: `seed.${i}@partner.example`,
      phone: '+1 555 0100',
      manager: 'pat.manager',
      startDate: '2024-01-01T00:00:00.000Z',
      // Spread over two years around today: some expired, some expiring soon.
      endDate: new Date(now + ((i % 730) - 365) * DAY).toISOString(),
      data: {},
      created: new Date(now - (RECORDS - i) * 1000).toISOString(),
      modified: new Date(now - (RECORDS - i) * 1000).toISOString(),
    }));
    const { records } = rig.server.app.services;
    await transaction(rig.server.app.db.kysely, async (trx) => {
      assert.ok(await records.insertNew(trx, rig.server.config.tenant, source, seed));
    });
    for (let i = 0; i < PENDING; i++) {
      await asAdmin(rig.server, 'POST', '/v3/non-employee-requests', {
        sourceId: source,
        accountName: `pending.${i}`,
        firstName: 'Pending',
        lastName: `P${i}`,
        email: `pending.${i}@partner.example`,
        phone: '+1 555 0100',
        manager: 'pat.manager',
        startDate: '2031-01-01',
        endDate: '2031-12-31',
      });
    }
    ({ page } = await rig.newPage());
    await signIn(page, 'pat.manager');
  });
  after(() => rig?.close());

  const pages = [
    ['Records', '/console/records'],
    ['Records, searched', '/console/records?q=last1999'],
    ['Records, expiring in 14 days, by end date', '/console/records?range=expiring&sort=endDate'],
    ['Approvals', '/console/approvals'],
  ] as const;

  for (const [name, url] of pages) {
    test(`${name} shows its data; the time is printed`, async () => {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) times.push(await readyAfter(page, url));
      // The median of three: the machine is shared, and one run may wait for another process.
      const median = [...times].sort((a, b) => a - b)[1]!;
      console.log(`console speed: ${name} (${url}): ${times.join(' ms, ')} ms; median ${median} ms`);
      assert.ok(median < 5000, `${name}: ${times.join(', ')} ms`);
    });
  }

  test('the totals are the whole source', async () => {
    await page.goto('/console/records');
    await page.getByRole('status').filter({ hasText: '1–25 of 20,000' }).waitFor();
    await page.goto('/console/approvals');
    await page
      .getByRole('status')
      .filter({ hasText: `1–10 of ${PENDING}` })
      .waitFor();
  });
});
