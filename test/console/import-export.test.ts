/**
 * Import and export in Chromium, as a person with the create right: a CSV with a bad row uploaded
 * by the file input and by drag and drop (a dispatched drop event), its job followed to its end,
 * the bad row in the problems table and in the downloaded error CSV; a good file imported, the
 * source exported and its template downloaded, each download read back.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { asAdmin, checkAccessible, type ConsoleRig, createPerson, createSource, type Person, screenshot, signIn, startConsole } from '../helpers/console.js';

const HEADER = 'accountName,firstName,lastName,phone,email,manager,startDate,endDate,department';
const line = (account: string, email = `${account}@partner.example`) => `${account},Ann,Lee,555-0100,${email},ivan.importer,2031-01-01,2031-12-31,Finance`;
const GOOD = `${HEADER}\n${line('ann.one')}\n${line('ann.two')}\n`;
const BAD = `${HEADER}\n${line('bad.one')}\n${line('bad.two', 'not-an-email')}\n`;

/** Clicks the link named `name` and reads what the browser downloaded. */
async function download(page: Page, name: string): Promise<{ fileName: string; text: string }> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name }).click()]);
  const path = await file.path();
  return { fileName: file.suggestedFilename(), text: readFileSync(path, 'utf8') };
}

async function jobEnded(page: Page): Promise<string> {
  const status = page.locator('[data-status="COMPLETED"], [data-status="ERROR"]');
  await status.waitFor({ timeout: 20_000 });
  return (await status.getAttribute('data-status')) ?? '';
}

describe('console: import and export', () => {
  let rig: ConsoleRig;
  let ivan: Person;
  let source: string;

  before(async () => {
    rig = await startConsole();
    ivan = await createPerson(rig.server, 'ivan.importer', 'Ivan Importer', { rights: ['idn:nesr:read', 'idn:nesr:create'] });
    const owner = await createPerson(rig.server, 'olga.owner', 'Olga Owner');
    source = await createSource(rig.server, 'Seasonal staff', owner.id);
    await asAdmin(rig.server, 'POST', `/v3/non-employee-sources/${source}/schema-attributes`, {
      type: 'TEXT',
      label: 'Department',
      technicalName: 'department',
    });
  });
  after(() => rig?.close());

  test('a bad row, by the file input and by drag and drop: the job ends, the row is in the table and the error CSV', async () => {
    const { page } = await rig.newPage();
    await signIn(page, ivan.alias);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Import and export' }).click();
    await page.getByLabel('Source').selectOption({ label: 'Seasonal staff' });
    await page.getByRole('heading', { name: 'Import a CSV' }).waitFor();
    await checkAccessible(page, 'import and export page');

    await page.getByLabel('CSV file').setInputFiles({ name: 'staff.csv', mimeType: 'text/csv', buffer: Buffer.from(BAD) });
    await page.getByRole('button', { name: 'Upload CSV' }).click();
    await page.getByRole('heading', { name: 'Import of staff.csv' }).waitFor();
    assert.equal(await jobEnded(page), 'ERROR');
    const problems = page.getByRole('table', { name: 'Problems of the import' });
    await problems.waitFor();
    const row = problems.getByRole('row').filter({ hasText: 'not-an-email' });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /email/);
    await checkAccessible(page, 'import with errors');
    await screenshot(page, 'import-errors');

    const report = await download(page, 'Download the error report (CSV)');
    assert.match(report.fileName, /\.csv$/);
    const [header, ...rows] = report.text.trim().split(/\r?\n/);
    assert.match(header ?? '', /line/i);
    assert.equal(rows.length, 1, report.text);
    assert.match(rows[0] ?? '', /not-an-email/);
    assert.match(rows[0] ?? '', /^"?3"?,/, 'the problem names the file line of the bad row');

    // The same file dropped on the drop zone.
    // Made in the page (a DataTransfer cannot cross from Node): the file the person drops.
    const dataTransfer = await page.evaluateHandle(
      `(() => { const t = new DataTransfer(); t.items.add(new File([${JSON.stringify(BAD)}], 'dropped.csv', { type: 'text/csv' })); return t; })()`,
    );
    await page.locator('fieldset.drop').dispatchEvent('dragover', { dataTransfer });
    await page.locator('fieldset.drop').dispatchEvent('drop', { dataTransfer });
    await page.getByRole('heading', { name: 'Import of dropped.csv' }).waitFor();
    assert.equal(await jobEnded(page), 'ERROR');
    await page.getByRole('table', { name: 'Problems of the import' }).getByRole('row').filter({ hasText: 'not-an-email' }).waitFor();
    const records = await asAdmin<unknown[]>(rig.server, 'GET', `/v3/non-employee-records?filters=${encodeURIComponent(`sourceId eq "${source}"`)}`);
    assert.equal(records.length, 0, 'a file with a bad row writes nothing');
  });

  test('a good file is imported (the page passes axe in dark mode too); the export and the template are downloaded', async () => {
    const { page } = await rig.newPage();
    await signIn(page, ivan.alias);
    await page.goto(`/console/import-export?source=${source}`);
    await page.getByLabel('CSV file').setInputFiles({ name: 'good.csv', mimeType: 'text/csv', buffer: Buffer.from(GOOD) });
    await page.getByRole('button', { name: 'Upload CSV' }).click();
    assert.equal(await jobEnded(page), 'COMPLETED');
    await page.getByRole('status').filter({ hasText: '2 created' }).waitFor();
    await screenshot(page, 'import-export');
    await page.emulateMedia({ colorScheme: 'dark' });
    await checkAccessible(page, 'import and export, dark');

    const exported = await download(page, 'Export records (CSV)');
    const lines = exported.text.trim().split(/\r?\n/);
    assert.equal(lines[0], HEADER);
    assert.equal(lines.length, 3, exported.text);
    assert.ok(lines.some((l) => l.startsWith('ann.one,Ann,Lee,')));
    assert.ok(lines.some((l) => l.includes('ann.two@partner.example') && l.endsWith(',Finance')));

    const template = await download(page, 'Download the template (CSV)');
    assert.equal(template.text.trim(), HEADER);
  });

  test('a person without the create right sees no Import and export link', async () => {
    await createPerson(rig.server, 'rex.reader', 'Rex Reader', { rights: ['idn:nesr:read'] });
    const { page } = await rig.newPage();
    await signIn(page, 'rex.reader');
    const links = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
    assert.ok(!links.includes('Import and export'), links.join(', '));
  });
});
