/**
 * Records in Chromium: search, filters, sorting, a record's page with its history; the end date
 * changed by the source's owner, every field by a holder of the update right; an account manager
 * sees only their sources' records; the page works at 360 px wide.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asAdmin, checkAccessible, type ConsoleRig, createPerson, createSource, screenshot, signIn, startConsole } from '../helpers/console.js';

const DAY = 24 * 60 * 60 * 1000;
const dayFromNow = (days: number) => new Date(Date.now() + days * DAY).toISOString().slice(0, 10);

describe('console: records', () => {
  let rig: ConsoleRig;
  const ids: Record<string, string> = {};

  before(async () => {
    rig = await startConsole();
    const olivia = await createPerson(rig.server, 'olivia.owner', 'Olivia Owner');
    const max = await createPerson(rig.server, 'max.manager', 'Max Manager');
    const carl = await createPerson(rig.server, 'carl.vendors', 'Carl Vendors');
    const vic = await createPerson(rig.server, 'vic.vendorowner', 'Vic Vendorowner');
    await createPerson(rig.server, 'uma.updater', 'Uma Updater', { rights: ['idn:nesr:read', 'idn:nesr:update'] });
    const contractors = await createSource(rig.server, 'Contractors', olivia.id, [], [max.id]);
    const vendors = await createSource(rig.server, 'Vendors', vic.id, [], [carl.id]);
    const people = [
      [contractors, 'jane.doe', 'Jane', 'Doe', dayFromNow(10)],
      [contractors, 'john.smith', 'John', 'Smith', dayFromNow(100)],
      [contractors, 'old.timer', 'Otto', 'Timer', dayFromNow(-30)],
      [vendors, 'vera.vendor', 'Vera', 'Vendor', dayFromNow(60)],
    ] as const;
    for (const [sourceId, accountName, firstName, lastName, endDate] of people) {
      const record = await asAdmin<{ id: string }>(rig.server, 'POST', '/v3/non-employee-records', {
        sourceId,
        accountName,
        firstName,
        lastName,
        email: `${accountName}@partner.example`,
        phone: '+1 555 0100',
        manager: 'olivia.owner',
        startDate: dayFromNow(-60),
        endDate,
      });
      ids[accountName] = record.id;
    }
  });
  after(() => rig?.close());

  const namesShown = async (page: import('playwright-core').Page) => {
    await page.locator('.table-wrap[data-ready="true"]').waitFor();
    return page.locator('tbody tr td:nth-child(2)').allTextContents();
  };

  test("the owner searches, filters and sorts, and changes a record's end date; the history shows it", async () => {
    const { page } = await rig.newPage();
    await signIn(page, 'olivia.owner');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Records' }).click();
    await page.getByRole('heading', { name: 'Records', level: 1 }).waitFor();
    assert.deepEqual((await namesShown(page)).sort(), ['jane.doe', 'john.smith', 'old.timer']);
    await checkAccessible(page, 'records');
    await screenshot(page, 'records');

    await page.getByLabel('Search').fill('SMITH');
    await page.waitForURL(/q=SMITH/);
    assert.deepEqual(await namesShown(page), ['john.smith']);
    await page.getByLabel('Search').fill('partner.example');
    await page.waitForURL(/q=partner.example/);
    assert.equal((await namesShown(page)).length, 3);
    await page.getByLabel('Search').fill('');
    await page.waitForURL((url) => !url.search.includes('q='));

    await page.getByLabel('End date').selectOption('expiring');
    await page.waitForURL(/range=expiring/);
    assert.deepEqual(await namesShown(page), ['jane.doe']);
    await page.getByLabel('End date').selectOption('expired');
    await page.waitForURL(/range=expired/);
    assert.deepEqual(await namesShown(page), ['old.timer']);
    await page.getByLabel('End date').selectOption('');
    await page.getByLabel('Source').selectOption({ label: 'Contractors' });
    await page.waitForURL(/source=/);

    await page.getByRole('button', { name: 'End date' }).click();
    await page.waitForURL(/sort=endDate/);
    assert.deepEqual(await namesShown(page), ['old.timer', 'jane.doe', 'john.smith']);
    assert.equal(await page.getByRole('columnheader', { name: /End date/ }).getAttribute('aria-sort'), 'ascending');
    await page.getByRole('button', { name: 'End date' }).click();
    await page.waitForURL(/sort=-endDate/);
    assert.deepEqual(await namesShown(page), ['john.smith', 'jane.doe', 'old.timer']);

    await page.getByRole('link', { name: 'Jane Doe' }).click();
    await page.getByRole('heading', { name: 'Jane Doe', level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'Change the end date' }).waitFor();
    // The owner may change the end date only.
    assert.equal(await page.getByLabel('First name').count(), 0);
    const later = dayFromNow(200);
    await page.getByLabel('End date').fill(later);
    await page.getByRole('button', { name: 'Save end date' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    await page.getByRole('cell', { name: new RegExp(`endDate: ${dayFromNow(10)} → ${later}`) }).waitFor();
    await page.getByRole('cell', { name: 'record.created' }).waitFor();
    await checkAccessible(page, 'record');
    await screenshot(page, 'record');
    const record = await asAdmin<{ endDate: string }>(rig.server, 'GET', `/v3/non-employee-records/${ids['jane.doe']}`);
    assert.equal(record.endDate.slice(0, 10), later);
  });

  test('a holder of the update right edits every field', async () => {
    const { page } = await rig.newPage();
    await signIn(page, 'uma.updater');
    await page.goto(`/console/records/${ids['john.smith']}`);
    await page.getByRole('heading', { name: 'Edit record' }).waitFor();
    await page.getByLabel('Phone').fill('+44 20 7946 0000');
    await page.getByLabel('Last name').fill('Smythe');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: 'John Smythe', level: 1 }).waitFor();
    await page.getByRole('cell', { name: /lastName: Smith → Smythe/ }).waitFor();
    // A bad value: the API's error beside its field.
    await page.getByLabel('Email').fill('not-an-email');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('.field-error').filter({ hasText: 'not a valid email address' }).waitFor();
  });

  test("an account manager sees only their sources' records and may not open another's", async () => {
    const { page } = await rig.newPage();
    await signIn(page, 'carl.vendors');
    await page.goto('/console/records');
    assert.deepEqual(await namesShown(page), ['vera.vendor']);
    await page.getByLabel('Search').fill('jane');
    await page.getByText('No records match.').waitFor();
    await page.goto(`/console/records/${ids['jane.doe']}`);
    await page.getByRole('alert').filter({ hasText: 'Reading a record requires idn:nesr:read' }).waitFor();
    // Nor may he change it through the API the console uses.
    const status = await page.evaluate(
      async ([id]) => {
        const session = (await (await fetch('/console/api/session')).json()) as { csrfToken: string };
        const response = await fetch(`/v3/non-employee-records/${id}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json-patch+json', 'x-csrf-token': session.csrfToken },
          body: JSON.stringify([{ op: 'replace', path: '/endDate', value: '2040-01-01' }]),
        });
        return response.status;
      },
      [ids['jane.doe']],
    );
    assert.equal(status, 403);
  });

  test('at 360 px wide: nothing wider than the screen, still accessible, in light and dark', async () => {
    const { page } = await rig.newPage(360);
    await signIn(page, 'olivia.owner');
    await page.goto('/console/records');
    await page.locator('.table-wrap[data-ready="true"]').waitFor();
    const width = await page.evaluate<number>('document.documentElement.scrollWidth');
    assert.ok(width <= 360, `page is ${width} px wide`);
    await checkAccessible(page, 'records at 360 px');
    await screenshot(page, 'records-narrow');
    // The system's dark setting: the dark colours, with enough contrast too.
    await page.emulateMedia({ colorScheme: 'dark' });
    const background = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
    assert.equal(background, 'rgb(18, 18, 18)');
    await checkAccessible(page, 'records at 360 px, dark');
    await page.goto(`/console/records/${ids['john.smith']}`);
    await page.getByRole('heading', { name: 'History' }).waitFor();
    assert.ok((await page.evaluate<number>('document.documentElement.scrollWidth')) <= 360);
  });
});
