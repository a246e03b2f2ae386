/**
 * Requests and approvals in Chromium, each step as the person who does it: an account manager
 * files a request through the form built from the source's schema, two approvers decide it level
 * by level, one rejects with a comment, a pending request is withdrawn, and an approver cannot
 * decide another's item. One approval is done with the keyboard alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { asAdmin, checkAccessible, type ConsoleRig, createPerson, createSource, type Person, screenshot, signIn, startConsole } from '../helpers/console.js';

interface RequestJson {
  id: string;
  approvalStatus: string;
  approvalItems: { id: string; approvalOrder: number; approvalStatus: string }[];
}

describe('console: requests and approvals', () => {
  let rig: ConsoleRig;
  let max: Person;
  let ada: Person;
  let bob: Person;
  let wanda: Person;
  let source: string;

  const requestBody = (accountName: string, firstName: string) => ({
    sourceId: source,
    accountName,
    firstName,
    lastName: 'Example',
    email: `${accountName}@partner.example`,
    phone: '+1 555 0100',
    manager: 'olivia.owner',
    startDate: '2031-01-05',
    endDate: '2031-06-30',
    data: { department: 'Finance' },
  });

  /** A request filed by the org admin (setup), as the API answers it. */
  const fileRequest = (accountName: string, firstName: string) =>
    asAdmin<RequestJson>(rig.server, 'POST', '/v3/non-employee-requests', requestBody(accountName, firstName));
  const requestOf = (id: string) => asAdmin<RequestJson>(rig.server, 'GET', `/v3/non-employee-requests/${id}`);

  before(async () => {
    rig = await startConsole();
    const olivia = await createPerson(rig.server, 'olivia.owner', 'Olivia Owner');
    max = await createPerson(rig.server, 'max.manager', 'Max Manager');
    ada = await createPerson(rig.server, 'ada.approver', 'Ada Approver');
    bob = await createPerson(rig.server, 'bob.approver', 'Bob Approver');
    wanda = await createPerson(rig.server, 'wanda.withdraws', 'Wanda Withdraws', { rights: ['idn:nesr:delete'] });
    source = await createSource(rig.server, 'Contractors', olivia.id, [ada.id, bob.id], [max.id, wanda.id]);
    await asAdmin(rig.server, 'POST', `/v3/non-employee-sources/${source}/schema-attributes`, {
      type: 'TEXT',
      label: 'Department',
      technicalName: 'department',
      helpText: 'The team the contractor works in',
      placeholder: 'e.g. Finance',
      required: true,
    });
  });
  after(() => rig?.close());

  async function pendingCard(page: Page, name: string) {
    await page.goto('/console/approvals');
    const card = page.getByRole('article').filter({ has: page.getByRole('heading', { name: new RegExp(name) }) });
    await card.waitFor();
    return card;
  }

  test('an account manager files a request through the schema-built form; two levels approve it', async () => {
    const { page } = await rig.newPage();
    await signIn(page, max.alias);
    const nav = page.getByRole('navigation', { name: 'Main' });
    assert.deepEqual(await nav.getByRole('link').allTextContents(), ['Requests', 'Records']);
    await nav.getByRole('link', { name: 'Requests' }).click();
    await page.getByRole('heading', { name: 'Requests', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'New request' }).click();
    await page.getByLabel('Source').selectOption({ label: 'Contractors' });
    // The source's schema: system attributes and the custom one, with its help text and placeholder.
    const department = page.getByLabel('Department');
    await department.waitFor();
    assert.equal(await department.getAttribute('placeholder'), 'e.g. Finance');
    await page.getByText('The team the contractor works in').waitFor();
    assert.equal(await page.getByLabel('Start Date').getAttribute('type'), 'date');
    await checkAccessible(page, 'new request form');
    await screenshot(page, 'new-request');

    // Required fields are said beside each field.
    await page.getByRole('button', { name: 'Submit request' }).click();
    await page.getByText('Account Name is required.').waitFor();
    await page.getByText('Department is required.').waitFor();
    await checkAccessible(page, 'new request form with errors');

    await page.getByLabel('Account Name').fill('carla.contractor');
    await page.getByLabel('First Name').fill('Carla');
    await page.getByLabel('Last Name').fill('Contractor');
    await page.getByLabel('Phone').fill('+1 555 0199');
    await page.getByLabel('Email').fill('carla@partner.example');
    const manager = page.getByRole('combobox', { name: 'Manager' });
    await manager.fill('nobody.here');
    await page.getByLabel('Start Date').fill('2031-02-01');
    // Checked in the page: an end before the start.
    await page.getByLabel('End Date').fill('2031-01-01');
    await department.fill('Finance');
    await page.getByRole('button', { name: 'Submit request' }).click();
    await page.getByText('The end date must not be before the start date.').waitFor();
    await page.getByLabel('End Date').fill('2031-07-31');
    // Checked by the API, its text beside the field it names: a manager who is no identity.
    await page.getByRole('button', { name: 'Submit request' }).click();
    const managerError = page.locator('.field-error').filter({ hasText: 'manager "nobody.here" is not the account name (alias) of an identity' });
    await managerError.waitFor();
    assert.equal(await manager.getAttribute('aria-invalid'), 'true');
    // The manager is picked by searching identities.
    await manager.fill('Olivia');
    await page.getByRole('option', { name: /Olivia Owner/ }).click();
    assert.equal(await manager.inputValue(), 'olivia.owner');
    await page.getByRole('button', { name: 'Submit request' }).click();
    await page.getByRole('status').filter({ hasText: 'Request for carla.contractor submitted.' }).waitFor();
    const row = page.getByRole('row').filter({ hasText: 'carla.contractor' });
    await row.getByText('Pending', { exact: true }).first().waitFor();
    await row.getByText('Level 2:').waitFor();
    await checkAccessible(page, 'requests');
    await screenshot(page, 'requests');

    // Level 1: Ada approves; Bob's level opens.
    const ada1 = (await rig.newPage()).page;
    await signIn(ada1, ada.alias);
    await ada1
      .getByRole('link', { name: /Approvals/ })
      .getByText('1')
      .waitFor();
    let card = await pendingCard(ada1, 'Carla Contractor');
    await card.getByText('carla@partner.example').waitFor();
    await card.getByText('Level 1', { exact: true }).waitFor();
    await checkAccessible(ada1, 'approvals');
    await screenshot(ada1, 'approvals');
    await card.getByRole('button', { name: 'Approve' }).click();
    const dialog = ada1.getByRole('dialog', { name: 'Approve carla.contractor' });
    await dialog.getByLabel('Comment').fill('Welcome aboard');
    await checkAccessible(ada1, 'approve dialog');
    await dialog.getByRole('button', { name: 'Approve' }).click();
    await ada1.getByRole('status').filter({ hasText: 'Approved carla.contractor.' }).waitFor();
    await ada1.getByText('Nothing is waiting for you.').waitFor();
    await ada1.getByRole('tab', { name: 'History' }).click();
    await ada1.getByRole('article').filter({ hasText: 'Welcome aboard' }).waitFor();

    // Level 2: Bob approves; the request is approved.
    const bob1 = (await rig.newPage()).page;
    await signIn(bob1, bob.alias);
    card = await pendingCard(bob1, 'Carla Contractor');
    await card.getByText('Level 2', { exact: true }).waitFor();
    await card.getByRole('button', { name: 'Approve' }).click();
    await bob1.getByRole('dialog').getByRole('button', { name: 'Approve' }).click();
    await bob1.getByRole('status').filter({ hasText: 'Approved carla.contractor.' }).waitFor();

    await page.reload();
    await row.getByText('Approved', { exact: true }).first().waitFor();
    const records = await asAdmin<{ accountName: string }[]>(
      rig.server,
      'GET',
      `/v3/non-employee-records?filters=${encodeURIComponent('accountName eq "carla.contractor"')}`,
    );
    assert.equal(records.length, 1);
  });

  test('an approver rejects, and must say why', async () => {
    const request = await fileRequest('rex.rejected', 'Rex');
    const { page } = await rig.newPage();
    await signIn(page, ada.alias);
    const card = await pendingCard(page, 'Rex Example');
    await card.getByRole('button', { name: 'Reject' }).click();
    const dialog = page.getByRole('dialog', { name: 'Reject rex.rejected' });
    await dialog.getByRole('button', { name: 'Reject' }).click();
    await dialog.getByText('A comment is required to reject.').waitFor();
    await dialog.getByLabel('Comment').fill('No budget this quarter');
    await dialog.getByRole('button', { name: 'Reject' }).click();
    await page.getByRole('status').filter({ hasText: 'Rejected rex.rejected.' }).waitFor();
    const after = await requestOf(request.id);
    assert.equal(after.approvalStatus, 'REJECTED');
  });

  test('an approver cannot decide an item that is not theirs', async () => {
    const request = await fileRequest('nora.notyours', 'Nora');
    const levelOne = request.approvalItems.find((item) => item.approvalOrder === 1)!;
    const { page } = await rig.newPage();
    // Bob approves level 2 only: Ada's item is not on his page, and the API refuses his decision.
    await signIn(page, bob.alias);
    await page.goto('/console/approvals');
    await page.getByText('Nothing is waiting for you.').waitFor();
    const status = await page.evaluate(async (id) => {
      const session = (await (await fetch('/console/api/session')).json()) as { csrfToken: string };
      const response = await fetch(`/v3/non-employee-approvals/${id}/approve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
        body: '{}',
      });
      return response.status;
    }, levelOne.id);
    assert.equal(status, 403);
    assert.equal((await requestOf(request.id)).approvalStatus, 'PENDING');
  });

  test('a pending request is withdrawn by whoever may delete it', async () => {
    await fileRequest('walt.withdrawn', 'Walt');
    const { page } = await rig.newPage();
    await signIn(page, wanda.alias);
    await page.goto('/console/requests?status=PENDING');
    await page.getByRole('button', { name: 'Withdraw the request for walt.withdrawn' }).click();
    const dialog = page.getByRole('dialog', { name: 'Withdraw the request for walt.withdrawn?' });
    await checkAccessible(page, 'withdraw dialog');
    await dialog.getByRole('button', { name: 'Withdraw' }).click();
    await page.getByRole('status').filter({ hasText: 'Withdrew the request for walt.withdrawn.' }).waitFor();
    await page.getByRole('row').filter({ hasText: 'walt.withdrawn' }).waitFor({ state: 'detached' });
    await fileRequest('zed.sorted', 'Zed');
    await fileRequest('abe.sorted', 'Abe');
    // Max may not delete requests: he has no Withdraw button.
    const max1 = (await rig.newPage()).page;
    await signIn(max1, max.alias);
    await max1.goto('/console/requests');
    await max1.getByRole('table').waitFor();
    assert.equal(await max1.getByRole('button', { name: /^Withdraw/ }).count(), 0);
    // Sorted by the API: by account name, then the other way.
    const accountNames = async () => {
      await max1.locator('.table-wrap[data-ready="true"]').waitFor();
      return max1.locator('tbody tr td:nth-child(2)').allTextContents();
    };
    await max1.getByRole('button', { name: 'Account name' }).click();
    await max1.waitForURL(/sort=accountName/);
    const ascending = await accountNames();
    assert.ok(ascending.length >= 2);
    assert.deepEqual(ascending, [...ascending].sort());
    assert.equal(await max1.getByRole('columnheader', { name: /Account name/ }).getAttribute('aria-sort'), 'ascending');
    await max1.getByRole('button', { name: 'Account name' }).click();
    await max1.waitForURL(/sort=-accountName/);
    assert.deepEqual(await accountNames(), [...ascending].reverse());
  });

  test('keyboard alone: an approver reaches an item, approves it with a comment', async () => {
    const request = await fileRequest('kim.keyboard', 'Kim');
    const { page } = await rig.newPage();
    await signIn(page, ada.alias);
    await page.goto('/console/approvals');
    await page.getByRole('article').filter({ hasText: 'kim.keyboard' }).waitFor();
    // Tab through the page until the item's Approve button has the focus.
    let focused = '';
    for (let i = 0; i < 40 && focused !== 'Approve:Kim Example'; i++) {
      await page.keyboard.press('Tab');
      // Run in the page (a string: the tests' own types have no DOM).
      focused = await page.evaluate<string>(`(() => {
        const element = document.activeElement;
        const card = element?.closest('article')?.querySelector('h2')?.firstChild?.textContent ?? '';
        return (element?.textContent ?? '') + ':' + card.trim();
      })()`);
    }
    assert.equal(focused, 'Approve:Kim Example');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    // The dialog takes the focus: its Comment field first.
    await page.keyboard.type('Looks right');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Approved kim.keyboard.' }).waitFor();
    const items = (await requestOf(request.id)).approvalItems.sort((a, b) => a.approvalOrder - b.approvalOrder);
    assert.equal(items[0]!.approvalStatus, 'APPROVED');
  });
});
