/**
 * The Sources page in Chromium, as an org admin: a source made with a two-level approver chain (a
 * person, then a governance group) and an account manager, its custom attributes added and edited,
 * its lifecycle policy set, and a source deleted; the API's errors shown beside their fields; a
 * person without the rights sees no Sources link and is refused by the API. One attribute is
 * added with the keyboard alone; the list is checked at 360 px.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { asAdmin, checkAccessible, type ConsoleRig, createPerson, createSource, type Person, screenshot, signIn, startConsole } from '../helpers/console.js';

interface SourceJson {
  id: string;
  name: string;
  approvers: { id: string; type: string }[];
  accountManagers: { id: string; type: string }[];
}

/** Types `text` into a chooser's search and picks the match named `name`. */
async function choose(page: Page, chooser: string, text: string, name: string): Promise<void> {
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel(`Add to ${chooser.toLowerCase()}`, { exact: true }).fill(text);
  await dialog
    .getByRole('list', { name: `Matches for ${chooser.toLowerCase()}` })
    .getByRole('button', { name: `Add ${name}` })
    .click();
  await dialog
    .getByRole('list', { name: `${chooser}: chosen` })
    .getByText(name)
    .waitFor();
}

describe('console: sources', () => {
  let rig: ConsoleRig;
  let admin: Person;
  let owner: Person;
  let ada: Person;
  let mia: Person;
  let groupId: string;

  before(async () => {
    rig = await startConsole();
    admin = await createPerson(rig.server, 'alice.admin', 'Alice Admin', { admin: true });
    owner = await createPerson(rig.server, 'owen.owner', 'Owen Owner');
    ada = await createPerson(rig.server, 'ada.approver', 'Ada Approver');
    mia = await createPerson(rig.server, 'mia.manager', 'Mia Manager');
    const bob = await createPerson(rig.server, 'bob.reviewer', 'Bob Reviewer');
    groupId = (await asAdmin<{ id: string }>(rig.server, 'POST', '/admin/v1/workgroups', { name: 'Second-level reviewers', members: [bob.id] })).id;
  });
  after(() => rig?.close());

  test('an org admin creates a source with a two-level chain and an account manager, errors beside the fields', async () => {
    const { page } = await rig.newPage();
    await signIn(page, admin.alias);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sources' }).click();
    await page.getByRole('heading', { name: 'Sources', level: 1 }).waitFor();
    await page.locator('.table-wrap[data-ready]').waitFor();
    await checkAccessible(page, 'sources page');

    await page.getByRole('button', { name: 'New source' }).click();
    const dialog = page.getByRole('dialog', { name: 'New source' });
    await dialog.waitFor();
    // The API's own words, beside the field.
    await dialog.getByLabel('Description').fill('Temporary staff');
    await dialog.getByRole('button', { name: 'Create source' }).click();
    await dialog.getByText('The source was not saved: see the fields.').waitFor();
    const nameError = await dialog.locator('.field.invalid .field-error').first().textContent();
    assert.match(nameError ?? '', /name/);
    assert.equal(await dialog.getByLabel('Name').getAttribute('aria-invalid'), 'true');

    await dialog.getByLabel('Name').fill('Contractors');
    await choose(page, 'Owner', 'owen', 'Owen Owner (owen.owner)');
    await choose(page, 'Approvers', 'Second-level', 'Second-level reviewers (governance group)');
    await choose(page, 'Approvers', 'ada', 'Ada Approver (ada.approver)');
    // The group was chosen first; Ada moves up to the first level.
    await dialog.getByRole('button', { name: 'Move Ada Approver (ada.approver) up' }).click();
    await choose(page, 'Account managers', 'mia', 'Mia Manager (mia.manager)');
    await checkAccessible(page, 'new source dialog');
    await screenshot(page, 'source-new');
    await dialog.getByRole('button', { name: 'Create source' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved the source Contractors.' }).waitFor();

    const sources = await asAdmin<SourceJson[]>(rig.server, 'GET', '/v3/non-employee-sources');
    const made = sources.find((s) => s.name === 'Contractors');
    assert.ok(made);
    assert.deepEqual(
      made.approvers.map((a) => [a.id, a.type]),
      [
        [ada.id, 'IDENTITY'],
        [groupId, 'GOVERNANCE_GROUP'],
      ],
    );
    assert.deepEqual(
      made.accountManagers.map((a) => a.id),
      [mia.id],
    );
    await page.getByRole('row').filter({ hasText: 'Contractors' }).waitFor();
    await screenshot(page, 'sources');
    await page.emulateMedia({ colorScheme: 'dark' });
    await checkAccessible(page, 'sources page, dark');
  });

  test('custom attributes: added (one by keyboard alone), reordered, edited, a bad name refused beside its field; the lifecycle policy set', async () => {
    const id = await createSource(rig.server, 'Interns', owner.id, [ada.id], [mia.id]);
    const { page } = await rig.newPage();
    await signIn(page, admin.alias);
    await page.goto(`/console/sources/${id}`);
    await page.getByRole('heading', { name: 'Interns', level: 1 }).waitFor();
    await page.locator('section[aria-labelledby="attributes-heading"] .table-wrap[data-ready]').waitFor();
    const attributes = page.getByRole('table', { name: 'Schema attributes' });
    assert.equal(await attributes.getByRole('row').count(), 9, 'a header and the 8 system attributes');

    // The keyboard alone: the button, the fields in order, Enter to send.
    await page.getByRole('button', { name: 'Add attribute' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'New attribute' });
    await dialog.waitFor();
    await page.keyboard.type('Badge number');
    await page.keyboard.press('Tab');
    await page.keyboard.type('1badge');
    await page.keyboard.press('Enter');
    await dialog.locator('.field.invalid').filter({ hasText: 'Technical name' }).waitFor();
    const error = await dialog.locator('.field.invalid .field-error').textContent();
    assert.match(error ?? '', /technicalName/);
    await checkAccessible(page, 'attribute dialog with an error');
    await dialog.getByLabel('Technical name').focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('badge');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Saved the attribute Badge number.' }).waitFor();

    await page.getByRole('button', { name: 'Add attribute' }).click();
    const second = page.getByRole('dialog', { name: 'New attribute' });
    await second.getByLabel('Label').fill('Department');
    await second.getByLabel('Technical name').fill('department');
    await second.getByLabel('Help text').fill('The team they join');
    await second.getByLabel('Required').check();
    await second.getByRole('button', { name: 'Add attribute' }).click();
    await attributes.getByRole('row').filter({ hasText: 'department' }).waitFor();

    // Department moves up, before Badge number: the API's order changes.
    await page.getByRole('button', { name: 'Move Department up' }).click();
    await page.getByRole('status').filter({ hasText: 'Moved the attribute Department up.' }).waitFor();
    await page.getByRole('button', { name: 'Move Department up' }).and(page.locator(':disabled')).waitFor();

    await page.getByRole('button', { name: 'Edit Badge number' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit Badge number' });
    await edit.getByLabel('Label').fill('Badge');
    // Escape closes without saving; the edit is opened again and saved.
    await page.keyboard.press('Escape');
    await edit.waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'Edit Badge number' }).click();
    await page.getByRole('dialog', { name: 'Edit Badge number' }).getByLabel('Label').fill('Badge');
    await page.getByRole('dialog', { name: 'Edit Badge number' }).getByRole('button', { name: 'Save attribute' }).click();
    await attributes.getByRole('cell', { name: 'Badge', exact: true }).waitFor();
    const stored = await asAdmin<{ technicalName: string; label: string; required: boolean; system: boolean }[]>(
      rig.server,
      'GET',
      `/v3/non-employee-sources/${id}/schema-attributes`,
    );
    assert.deepEqual(
      stored.filter((a) => !a.system).map((a) => [a.technicalName, a.label, a.required]),
      [
        ['department', 'Department', true],
        ['badge', 'Badge', false],
      ],
    );

    // The lifecycle policy: a bad value is named beside its field; good ones are saved.
    const policy = page.locator('section[aria-labelledby="policy-heading"]');
    await policy.locator('form[data-ready]').waitFor();
    await policy.getByLabel('Approval reminder after (days)').fill('0');
    await policy.getByRole('button', { name: 'Save policy' }).click();
    await policy.locator('.field.invalid').filter({ hasText: 'Approval reminder after' }).waitFor();
    await policy.getByLabel('Approval reminder after (days)').fill('2');
    await policy.getByLabel('Reminders before the end date (days)').fill('30, 7');
    await policy.getByLabel('Delete expired records after (days)').fill('90');
    await policy.getByRole('button', { name: 'Save policy' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved the lifecycle policy.' }).waitFor();
    const saved = await asAdmin<{ overrides: Record<string, unknown> }>(rig.server, 'GET', `/admin/v1/lifecycle-policy/sources/${id}`);
    assert.deepEqual(saved.overrides, { reminderOffsetsDays: [30, 7], approvalReminderDays: 2, retentionDays: 90 });
    await checkAccessible(page, 'source page');
    await screenshot(page, 'source');
  });

  test('a source is deleted from the list; at 360 px the list fits and passes axe', async () => {
    const id = await createSource(rig.server, 'Old vendors', owner.id);
    const { page } = await rig.newPage(360);
    await signIn(page, admin.alias);
    await page.goto('/console/sources?q=old');
    await page.getByLabel('Search').fill('old');
    await page.getByRole('row').filter({ hasText: 'Old vendors' }).waitFor();
    const width = await page.evaluate<number>('document.documentElement.scrollWidth');
    assert.ok(width <= 360, `the page is ${width} px wide`);
    await checkAccessible(page, 'sources page at 360 px');
    await page.getByRole('button', { name: 'Delete Old vendors' }).click();
    await page.getByRole('dialog', { name: 'Delete Old vendors?' }).getByRole('button', { name: 'Delete source' }).click();
    await page.getByRole('status').filter({ hasText: 'Deleted the source Old vendors.' }).waitFor();
    await asAdmin(rig.server, 'GET', `/v3/non-employee-sources/${id}`, undefined, 404);
  });

  test('a person without the rights sees no Sources link, and the API refuses them', async () => {
    await createPerson(rig.server, 'rita.reader', 'Rita Reader', { rights: ['idn:nesr:read'] });
    const { page } = await rig.newPage();
    await signIn(page, 'rita.reader');
    const links = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
    assert.ok(!links.includes('Sources'), links.join(', '));
    assert.ok(!links.includes('Admin'));
    await page.goto('/console/sources');
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    const status = await page.evaluate(async (ownerId) => {
      const session = (await (await fetch('/console/api/session')).json()) as { csrfToken: string };
      const response = await fetch('/v3/non-employee-sources', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
        body: JSON.stringify({ name: 'Sneaky', description: '', owner: { id: ownerId } }),
      });
      return response.status;
    }, owner.id);
    assert.equal(status, 403);
  });

  test('a holder of the update right sees Sources and edits a source, its people and groups named, but creates none', async () => {
    const nightShift = (await asAdmin<{ id: string }>(rig.server, 'POST', '/admin/v1/workgroups', { name: 'Night shift', members: [mia.id] })).id;
    await createSource(rig.server, 'Editable', owner.id, [ada.id], [nightShift]);
    await createPerson(rig.server, 'uma.updater', 'Uma Updater', { rights: ['idn:nesr:read', 'idn:nesr:update'] });
    const { page } = await rig.newPage();
    await signIn(page, 'uma.updater');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sources' }).click();
    await page.getByRole('row').filter({ hasText: 'Editable' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'New source' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Delete Editable' }).count(), 0);
    await page.getByRole('button', { name: 'Edit Editable' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit Editable' });
    // The source's approver and governance group by name, though the admin API is not Uma's.
    await dialog.getByRole('list', { name: 'Approvers: chosen' }).getByText('Ada Approver (ada.approver)').waitFor();
    await dialog.getByRole('list', { name: 'Account managers: chosen' }).getByText('Night shift').waitFor();
    await dialog.getByLabel('Description').fill('Edited by Uma');
    await choose(page, 'Account managers', 'mia', 'Mia Manager (mia.manager)');
    await choose(page, 'Approvers', 'second-level', 'Second-level reviewers');
    await dialog.getByRole('button', { name: 'Save source' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved the source Editable.' }).waitFor();
    const sources = await asAdmin<(SourceJson & { description: string })[]>(rig.server, 'GET', '/v3/non-employee-sources');
    const edited = sources.find((s) => s.name === 'Editable')!;
    assert.equal(edited.description, 'Edited by Uma');
    assert.deepEqual(
      edited.approvers.map((a) => a.id),
      [ada.id, groupId],
    );
    assert.deepEqual(
      edited.accountManagers.map((a) => a.id),
      [nightShift, mia.id],
    );
  });
});
