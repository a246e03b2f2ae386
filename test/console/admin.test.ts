/**
 * The Admin page in Chromium, as an org admin: an identity added, given a right and a password
 * (a weak one refused beside the field), who then signs in; an API client whose secret is shown
 * once and works; a governance group; a webhook whose Test button reaches a real receiver and
 * shows in the delivery log; the audit trail filtered by type, on screen and as CSV.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { asAdmin, checkAccessible, type ConsoleRig, createPerson, PASSWORD, type Person, screenshot, signIn, startConsole } from '../helpers/console.js';
import { type Receiver, startReceiver } from '../helpers/webhooks.js';

describe('console: admin', () => {
  let rig: ConsoleRig;
  let admin: Person;
  let receiver: Receiver;

  before(async () => {
    receiver = await startReceiver();
    rig = await startConsole({}, { NELM_WEBHOOK_ALLOW_HTTP: 'true', NELM_WEBHOOK_ALLOW_PRIVATE: 'true' });
    admin = await createPerson(rig.server, 'alice.admin', 'Alice Admin', { admin: true });
  });
  after(async () => {
    await rig?.close();
    await receiver?.close();
  });

  test('an identity is added, given a right and a password, and signs in; its API client secret is shown once; disabled, it cannot', async () => {
    const { page } = await rig.newPage();
    await signIn(page, admin.alias);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('tab', { name: 'Identities', selected: true }).waitFor();
    await page.locator('.table-wrap[data-ready]').waitFor();
    await checkAccessible(page, 'admin: identities');

    await page.getByRole('button', { name: 'Add identity' }).click();
    const add = page.getByRole('dialog', { name: 'New identity' });
    await add.getByLabel('Alias').fill('nina new');
    await add.getByRole('button', { name: 'Add identity' }).click();
    await add.locator('.field.invalid').filter({ hasText: 'Alias' }).waitFor();
    await add.getByLabel('Alias').fill('nina.new');
    await add.getByLabel('Name').fill('Nina New');
    await add.getByLabel('Email').fill('nina@example.com');
    await add.getByRole('button', { name: 'Add identity' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved the identity nina.new.' }).waitFor();

    await page.getByRole('button', { name: 'Edit nina.new' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit nina.new' });
    await edit.getByLabel('Read every source and record').check();
    await edit.getByRole('button', { name: 'Save identity' }).click();
    await page.getByRole('row').filter({ hasText: 'nina.new' }).getByRole('cell', { name: 'read', exact: true }).waitFor();

    await page.getByRole('button', { name: 'Set the password of nina.new' }).click();
    const password = page.getByRole('dialog', { name: 'Set the password of nina.new' });
    await password.getByLabel('New password').fill('password');
    await password.getByRole('button', { name: 'Set password' }).click();
    await password.locator('.field.invalid .field-error').waitFor();
    assert.match((await password.locator('.field-error').textContent()) ?? '', /password/);
    await checkAccessible(page, 'password dialog with an error');
    await password.getByLabel('New password').fill(PASSWORD);
    await password.getByRole('button', { name: 'Set password' }).click();
    await page.getByRole('status').filter({ hasText: 'Set the password of nina.new.' }).waitFor();
    await screenshot(page, 'admin-identities');

    const nina = await rig.newPage();
    await signIn(nina.page, 'nina.new');
    assert.deepEqual(await nina.page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents(), ['Records']);

    await page.getByRole('button', { name: 'API clients of nina.new' }).click();
    const clients = page.getByRole('dialog', { name: 'API clients of nina.new' });
    await clients.getByText('No API clients.').waitFor();
    await clients.getByRole('button', { name: 'Create API client' }).click();
    const secret = (await clients.getByTestId('client-secret').textContent()) ?? '';
    const clientId = (await clients.locator('.facts code').first().textContent()) ?? '';
    assert.ok(secret.length >= 20);
    const token = await fetch(`${rig.server.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
    });
    assert.equal(token.status, 200);
    await checkAccessible(page, 'API clients dialog');
    await clients.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('button', { name: 'API clients of nina.new' }).click();
    const again = page.getByRole('dialog', { name: 'API clients of nina.new' });
    await again.getByRole('button', { name: `Delete the client ${clientId}` }).waitFor();
    assert.equal(await again.getByTestId('client-secret').count(), 0, 'the secret is shown once');
    await again.getByRole('button', { name: `Delete the client ${clientId}` }).click();
    await again.getByText('No API clients.').waitFor();
    await again.getByRole('button', { name: 'Close' }).click();

    // Disabled, Nina's session ends and her password is told so; enabled again, she signs in.
    await page.getByRole('button', { name: 'Disable nina.new' }).click();
    await page.getByRole('status').filter({ hasText: 'Disabled the identity nina.new.' }).waitFor();
    await page.getByRole('row').filter({ hasText: 'nina.new' }).getByRole('cell', { name: 'Disabled', exact: true }).waitFor();
    await nina.page.reload();
    await nina.page.getByLabel('Username').fill('nina.new');
    await nina.page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await nina.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await nina.page.getByRole('alert').filter({ hasText: 'This account is disabled: ask an org admin' }).waitFor();
    await page.getByRole('button', { name: 'Enable nina.new' }).click();
    await page.getByRole('row').filter({ hasText: 'nina.new' }).getByRole('cell', { name: 'Enabled', exact: true }).waitFor();
    await signIn(nina.page, 'nina.new');
  });

  test('a governance group is created with a member', async () => {
    const member = await createPerson(rig.server, 'gus.member', 'Gus Member');
    const { page } = await rig.newPage();
    await signIn(page, admin.alias);
    await page.goto('/console/admin?tab=groups');
    await page.getByRole('button', { name: 'New governance group' }).click();
    const dialog = page.getByRole('dialog', { name: 'New governance group' });
    await dialog.getByLabel('Name').fill('Reviewers');
    await dialog.getByLabel('Add to members').fill('gus');
    await dialog.getByRole('button', { name: 'Add Gus Member (gus.member)' }).click();
    await dialog.getByRole('button', { name: 'Create group' }).click();
    await page.getByRole('row').filter({ hasText: 'Reviewers' }).waitFor();
    await checkAccessible(page, 'admin: governance groups');
    const groups = await asAdmin<{ name: string; members: string[] }[]>(rig.server, 'GET', '/admin/v1/workgroups');
    assert.deepEqual(groups.find((g) => g.name === 'Reviewers')?.members, [member.id]);
  });

  test("a webhook's Test reaches the receiver and shows in its delivery log", async () => {
    const { page } = await rig.newPage();
    await signIn(page, admin.alias);
    await page.goto('/console/admin?tab=webhooks');
    await page.getByRole('button', { name: 'New webhook' }).click();
    const dialog = page.getByRole('dialog', { name: 'New webhook' });
    await dialog.getByLabel('URL').fill(receiver.url);
    await dialog.getByLabel('Events').fill('record.*, source.created');
    await dialog.getByRole('button', { name: 'Create webhook' }).click();
    const secret = (await page.getByTestId('webhook-secret').textContent()) ?? '';
    assert.match(secret, /^whsec_/);
    const card = page.getByRole('article').filter({ hasText: receiver.url });
    await card.getByText('Nothing was sent yet.').waitFor();
    await card.getByRole('button', { name: `Test ${receiver.url}` }).click();
    // The log shows the delivery at once, and is read again until its attempt is in.
    await card.getByRole('row').filter({ hasText: 'webhook.test' }).first().waitFor();
    const row = card.getByRole('row').filter({ hasText: 'webhook.test' }).filter({ hasText: 'SUCCEEDED' });
    await row.waitFor({ timeout: 15_000 });
    assert.match((await row.textContent()) ?? '', /SUCCEEDED/);
    assert.match((await row.textContent()) ?? '', /200/);
    assert.equal(receiver.received.length, 1);
    assert.match(receiver.received[0]!.body, /webhook\.test/);
    await checkAccessible(page, 'admin: webhooks');
    await screenshot(page, 'admin-webhooks');
  });

  test('the audit trail filtered by type, on screen and as CSV; the Admin page at 360 px', async () => {
    const { page } = await rig.newPage(360);
    await signIn(page, admin.alias);
    await page.goto('/console/admin?tab=audit');
    await page.locator('.table-wrap[data-ready]').waitFor();
    await page.getByLabel('Type').fill('identity.created');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const table = page.getByRole('table', { name: 'Audit events, newest first' });
    await table.getByRole('row').filter({ hasText: 'identity.created' }).first().waitFor();
    await page.waitForFunction("document.querySelectorAll('.table-wrap[data-ready] tbody tr').length > 0");
    const types = await table.locator('tbody tr td:nth-child(2)').allTextContents();
    assert.ok(types.length >= 3, types.join(', '));
    assert.deepEqual(new Set(types), new Set(['identity.created']));
    const width = await page.evaluate<number>('document.documentElement.scrollWidth');
    assert.ok(width <= 360, `the page is ${width} px wide`);
    await checkAccessible(page, 'admin: audit trail at 360 px');
    await screenshot(page, 'admin-audit');

    const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download as CSV' }).click()]);
    const lines = readFileSync(await file.path(), 'utf8')
      .trim()
      .split(/\r?\n/);
    assert.equal(lines.length - 1, types.length, 'the CSV holds the same events');
    assert.ok(lines.slice(1).every((l) => l.includes(',identity.created,')));
  });
});
