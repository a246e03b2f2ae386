/**
 * Control characters (C0, DEL, C1) in text fields: every single-line field refuses them with a
 * 400 naming the field, and nothing is stored; multi-line fields (descriptions, help texts,
 * comments) take LF, CR LF and TAB and refuse the rest. Mails show what rows hold (whatever
 * they hold) without letting it forge their structure.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { errorOf, harness, type Caller, type Harness } from '../helpers/app.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

const PATCH = { 'content-type': 'application/json-patch+json' };
/** CR, LF, ESC, TAB, DEL, NEL (U+0085) and CSI (U+009B). */
const CONTROLS = ['\r', '\n', '\u001b', '\t', '\u007f', '\u0085', '\u009b'];
const code = (c: string) => `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
/** `value` with `c` after its first character. */
const spiked = (value: string, c: string) => `${value.slice(0, 1)}${c}${value.slice(1)}`;
const TABLES = ['identities', 'workgroups', 'sources', 'schema_attributes', 'records', 'requests', 'approval_items', 'bulk_jobs'] as const;

function multipart(csv: string, disposition: string): { payload: Buffer; contentType: string } {
  const boundary = `----cc${randomBytes(6).toString('hex')}`;
  const payload = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="data"${disposition}\r\nContent-Type: text/csv\r\n\r\n`, 'latin1'),
    Buffer.from(csv),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { payload, contentType: `multipart/form-data; boundary=${boundary}` };
}

describe('control characters in text fields', () => {
  let h: Harness;
  let smtp: TestSmtp;
  let manager: Caller;
  let approver: Caller;
  let source: string;
  let open: string;
  let record: Record<string, unknown>;

  /** Every row of the tables a write could touch. */
  const snapshot = async () => {
    const out: Record<string, unknown> = {};
    for (const table of TABLES) out[table] = await h.app.db.kysely.selectFrom(table).selectAll().orderBy('id').execute();
    return JSON.stringify(out);
  };
  /** Asserts a 400 whose cause names `field` and the control character, and that nothing changed. */
  const refused = async (what: string, send: () => ReturnType<Harness['request']>, field: string, c: string) => {
    const before = await snapshot();
    const res = await send();
    assert.equal(res.statusCode, 400, `${what}: ${res.statusCode} ${res.body}`);
    const texts = errorOf(res).causes.map((m) => m.text);
    const expected = `${field} contains a control character (${code(c)})`;
    assert.ok(
      texts.some((t) => t.startsWith(expected)),
      `${what}: ${JSON.stringify(texts)} has no "${expected}"`,
    );
    assert.equal(await snapshot(), before, `${what}: something was stored`);
  };
  const body = (accountName: string) => ({
    accountName,
    firstName: 'Ann',
    lastName: 'Lee',
    email: `${accountName}@example.com`,
    phone: '555-0100',
    manager: 'jane.doe',
    sourceId: source,
    startDate: '2024-01-01',
    endDate: '2024-12-31',
    data: { dept: 'Sales' },
  });
  /** Each field of a record body with `c` in it. */
  const spikedBodies = (accountName: string, c: string): [string, Record<string, unknown>][] => {
    const valid = body(accountName);
    return [
      ...(['accountName', 'firstName', 'lastName', 'email', 'phone', 'manager', 'sourceId', 'startDate', 'endDate'] as const).map(
        (field): [string, Record<string, unknown>] => [field, { ...valid, [field]: spiked(String(valid[field]), c) }],
      ),
      ['data.dept', { ...valid, data: { dept: spiked('Sales', c) } }],
    ];
  };

  before(async () => {
    smtp = await startSmtp();
    h = await harness({}, { SMTP_URL: smtp.url, NELM_MAIL_FROM: 'NELM <nelm@example.com>' });
    manager = await h.caller('jane.doe', { email: 'jane.doe@example.com' });
    approver = await h.caller('approver.one', { email: 'one@example.com' });
    const created = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, {
      name: 'Contractors',
      description: 'Contractors',
      owner: { id: manager.identity.id },
      approvers: [{ id: approver.identity.id }],
      accountManagers: [{ id: manager.identity.id }],
    });
    assert.equal(created.statusCode, 200, created.body);
    source = created.json().id;
    const attribute = await h.request('POST', `/v2024/non-employee-sources/${source}/schema-attributes`, h.admin.token, {
      type: 'TEXT',
      label: 'Department',
      technicalName: 'dept',
    });
    assert.equal(attribute.statusCode, 200, attribute.body);
    const plain = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, {
      name: 'Open',
      description: 'No approvers',
      owner: { id: manager.identity.id },
    });
    open = plain.json().id;
    const res = await h.request('POST', '/v2024/non-employee-records', h.admin.token, body('ann.lee'));
    assert.equal(res.statusCode, 200, res.body);
    record = res.json();
  });
  after(async () => {
    await h?.close();
    await smtp?.close();
  });

  test('records: create, PUT and PATCH refuse a control character in every field', async () => {
    for (const c of CONTROLS) {
      for (const [field, spikedBody] of spikedBodies(`new.${CONTROLS.indexOf(c)}`, c)) {
        await refused(`create ${field} ${code(c)}`, () => h.request('POST', '/v2024/non-employee-records', h.admin.token, spikedBody), field, c);
      }
      for (const [field, spikedBody] of spikedBodies('ann.lee', c)) {
        await refused(`PUT ${field} ${code(c)}`, () => h.request('PUT', `/v2024/non-employee-records/${record.id}`, h.admin.token, spikedBody), field, c);
      }
      for (const [field, value] of Object.entries(body('ann.lee'))) {
        if (field === 'sourceId') continue;
        const [path, spikedValue, named] = field === 'data' ? ['/data/dept', spiked('Sales', c), 'data.dept'] : [`/${field}`, spiked(String(value), c), field];
        await refused(
          `PATCH ${named} ${code(c)}`,
          () => h.request('PATCH', `/v2024/non-employee-records/${record.id}`, h.admin.token, [{ op: 'replace', path, value: spikedValue }], PATCH),
          named,
          c,
        );
      }
    }
  });

  test('a record holding a control character (an old row) can still be updated around it', async () => {
    await h.app.db.kysely.updateTable('records').set({ first_name: 'Ann\r\nBcc: x@example.com' }).where('id', '=', String(record.id)).execute();
    const patched = await h.request(
      'PATCH',
      `/v2024/non-employee-records/${record.id}`,
      h.admin.token,
      [{ op: 'replace', path: '/endDate', value: '2025-06-30' }],
      PATCH,
    );
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json().firstName, 'Ann\r\nBcc: x@example.com');
    const put = await h.request('PUT', `/v2024/non-employee-records/${record.id}`, h.admin.token, { ...(patched.json() as object), phone: '555-0199' });
    assert.equal(put.statusCode, 200, put.body);
    await refused(
      'PUT another control character',
      () => h.request('PUT', `/v2024/non-employee-records/${record.id}`, h.admin.token, { ...(put.json() as object), firstName: 'Ann\nB' }),
      'firstName',
      '\n',
    );
    const fixed = await h.request(
      'PATCH',
      `/v2024/non-employee-records/${record.id}`,
      h.admin.token,
      [{ op: 'replace', path: '/firstName', value: 'Ann' }],
      PATCH,
    );
    assert.equal(fixed.statusCode, 200, fixed.body);
  });

  test('requests refuse them in every record field; the comment takes line breaks and tabs only', async () => {
    for (const c of ['\n', '\r', '\u001b', '\u0085']) {
      for (const [field, spikedBody] of spikedBodies('req.one', c)) {
        await refused(`request ${field} ${code(c)}`, () => h.request('POST', '/v2024/non-employee-requests', h.admin.token, spikedBody), field, c);
      }
    }
    for (const c of ['\u001b', '\r', '\u0007', '\u009b']) {
      await refused(
        `request comment ${code(c)}`,
        () => h.request('POST', '/v2024/non-employee-requests', manager.token, { ...body('req.two'), comment: `Line one${c}two` }),
        'comment',
        c,
      );
    }
    const comment = 'Please hurry.\nSubject: urgent\r\n\tthanks';
    const res = await h.request('POST', '/v2024/non-employee-requests', manager.token, { ...body('req.three'), comment });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().comment, comment);
  });

  test('approval comments take line breaks and tabs, and no other control character', async () => {
    const res = await h.request('POST', '/v2024/non-employee-requests', manager.token, body('req.decide'));
    assert.equal(res.statusCode, 200, res.body);
    const item = res.json().approvalItems[0].id;
    for (const [verb, c] of [
      ['approve', '\u001b'],
      ['reject', '\u001b'],
      ['approve', '\r'],
      ['reject', '\u0085'],
    ] as const) {
      await refused(
        `${verb} comment ${code(c)}`,
        () => h.request('POST', `/v2024/non-employee-approvals/${item}/${verb}`, approver.token, { comment: `No${c}budget` }),
        'comment',
        c,
      );
    }
    const rejected = await h.request('POST', `/v2024/non-employee-approvals/${item}/reject`, approver.token, { comment: 'No budget.\r\nAsk again\tin May.' });
    assert.equal(rejected.statusCode, 200, rejected.body);
    assert.equal(rejected.json().comment, 'No budget.\r\nAsk again\tin May.');
  });

  test('sources: name and managementWorkgroup are single lines, the description takes line breaks', async () => {
    const valid = { name: 'Temps', description: 'Temps', owner: { id: manager.identity.id } };
    for (const c of CONTROLS) {
      await refused(
        `source name ${code(c)}`,
        () => h.request('POST', '/v2024/non-employee-sources', h.admin.token, { ...valid, name: `Te${c}mps` }),
        'name',
        c,
      );
      await refused(
        `source managementWorkgroup ${code(c)}`,
        () => h.request('POST', '/v2024/non-employee-sources', h.admin.token, { ...valid, managementWorkgroup: `wg${c}1` }),
        'managementWorkgroup',
        c,
      );
      await refused(
        `patch source name ${code(c)}`,
        () => h.request('PATCH', `/v2024/non-employee-sources/${source}`, h.admin.token, [{ op: 'replace', path: '/name', value: `C${c}x` }], PATCH),
        'name',
        c,
      );
    }
    for (const c of ['\u001b', '\r', '\u007f', '\u0085']) {
      await refused(
        `source description ${code(c)}`,
        () => h.request('POST', '/v2024/non-employee-sources', h.admin.token, { ...valid, description: `a${c}b` }),
        'description',
        c,
      );
      await refused(
        `patch source description ${code(c)}`,
        () => h.request('PATCH', `/v2024/non-employee-sources/${source}`, h.admin.token, [{ op: 'replace', path: '/description', value: `a${c}b` }], PATCH),
        'description',
        c,
      );
    }
    const description = 'Line one\nLine two\r\n\tindented';
    const created = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, { ...valid, description });
    assert.equal(created.statusCode, 200, created.body);
    assert.equal(created.json().description, description);
    const patched = await h.request(
      'PATCH',
      `/v2024/non-employee-sources/${created.json().id}`,
      h.admin.token,
      [{ op: 'replace', path: '/description', value: 'One\nTwo' }],
      PATCH,
    );
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json().description, 'One\nTwo');
  });

  test('schema attributes: type, label, technicalName, placeholder are single lines, helpText takes line breaks', async () => {
    const url = `/v2024/non-employee-sources/${open}/schema-attributes`;
    const valid = { type: 'TEXT', label: 'Badge', technicalName: 'badge', helpText: 'help', placeholder: 'B-1' };
    for (const c of CONTROLS) {
      for (const field of ['type', 'label', 'placeholder'] as const) {
        await refused(`attribute ${field} ${code(c)}`, () => h.request('POST', url, h.admin.token, { ...valid, [field]: spiked(valid[field], c) }), field, c);
      }
      // A technical name is letters, digits, `.`, `_` and `-`: its pattern refuses any control character.
      const before = await snapshot();
      const res = await h.request('POST', url, h.admin.token, { ...valid, technicalName: spiked('badge', c) });
      assert.equal(res.statusCode, 400);
      assert.match(errorOf(res).causes[0]!.text, /^technicalName does not match/);
      assert.equal(await snapshot(), before);
    }
    for (const c of ['\u001b', '\r', '\u0085']) {
      await refused(`attribute helpText ${code(c)}`, () => h.request('POST', url, h.admin.token, { ...valid, helpText: `a${c}b` }), 'helpText', c);
    }
    const created = await h.request('POST', url, h.admin.token, { ...valid, helpText: 'One\nTwo\r\n\tthree' });
    assert.equal(created.statusCode, 200, created.body);
    assert.equal(created.json().helpText, 'One\nTwo\r\n\tthree');
    const at = `${url}/${created.json().id}`;
    for (const c of CONTROLS) {
      for (const field of ['label', 'placeholder'] as const) {
        await refused(
          `patch attribute ${field} ${code(c)}`,
          () => h.request('PATCH', at, h.admin.token, [{ op: 'replace', path: `/${field}`, value: `x${c}y` }], PATCH),
          field,
          c,
        );
      }
    }
    await refused(
      'patch attribute helpText ESC',
      () => h.request('PATCH', at, h.admin.token, [{ op: 'replace', path: '/helpText', value: 'x\u001by' }], PATCH),
      'helpText',
      '\u001b',
    );
    const patched = await h.request('PATCH', at, h.admin.token, [{ op: 'replace', path: '/helpText', value: 'x\ny' }], PATCH);
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json().helpText, 'x\ny');
  });

  test('admin API: identity names and addresses, workgroup names are single lines; descriptions take line breaks', async () => {
    for (const c of CONTROLS) {
      for (const field of ['name', 'email'] as const) {
        await refused(
          `identity ${field} ${code(c)}`,
          () => h.request('POST', '/admin/v1/identities', h.admin.token, { alias: 'new.one', name: 'New One', email: 'new@example.com', [field]: `n${c}e` }),
          field,
          c,
        );
      }
      const before = await snapshot();
      const alias = await h.request('POST', '/admin/v1/identities', h.admin.token, { alias: `new${c}one` });
      assert.equal(alias.statusCode, 400);
      assert.match(errorOf(alias).causes[0]!.text, /^alias does not match/);
      assert.equal(await snapshot(), before);
      await refused(`workgroup name ${code(c)}`, () => h.request('POST', '/admin/v1/workgroups', h.admin.token, { name: `G${c}1`, members: [] }), 'name', c);
    }
    // The CLI creates identities through the service: the same rule.
    await assert.rejects(h.app.services.directory.createIdentity(h.config.tenant, { alias: 'cli\u001b[2J' }), (e: Error) =>
      /^alias contains a control character \(U\+001B\)/.test(e.message),
    );
    for (const c of ['\u001b', '\r', '\u009b']) {
      await refused(
        `workgroup description ${code(c)}`,
        () => h.request('POST', '/admin/v1/workgroups', h.admin.token, { name: 'G2', description: `a${c}b`, members: [] }),
        'description',
        c,
      );
    }
    const group = await h.request('POST', '/admin/v1/workgroups', h.admin.token, { name: 'G3', description: 'One\nTwo\r\n\tthree', members: [] });
    assert.equal(group.statusCode, 200, group.body);
    assert.equal(group.json().description, 'One\nTwo\r\n\tthree');
    const id = group.json().id;
    await refused('patch workgroup name LF', () => h.request('PATCH', `/admin/v1/workgroups/${id}`, h.admin.token, { name: 'G\n4' }), 'name', '\n');
    await refused(
      'patch workgroup description ESC',
      () => h.request('PATCH', `/admin/v1/workgroups/${id}`, h.admin.token, { description: 'x\u001by' }),
      'description',
      '\u001b',
    );
  });

  test('bulk upload: a file name with a control character is refused; a CSV cell with one is a row error', async () => {
    const url = `/v2024/non-employee-sources/${source}/non-employee-bulk-upload`;
    const header = 'accountName,firstName,lastName,phone,email,manager,startDate,endDate,dept';
    const good = `${header}\nbulk.one,Ann,Lee,555,bulk.one@example.com,jane.doe,2024-01-01,2024-12-31,Sales\n`;
    const post = (disposition: string, csv = good) => {
      const { payload, contentType } = multipart(csv, disposition);
      return h.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${h.admin.token}`, 'content-type': contentType }, payload });
    };
    for (const [disposition, c] of [
      ['; filename="a\u001b[31mb.csv"', '\u001b'],
      ['; filename="a\u007fb.csv"', '\u007f'],
      ['; filename="a\tb.csv"', '\t'],
      ["; filename*=UTF-8''a%1B%5B2Jb.csv", '\u001b'],
      ["; filename*=UTF-8''a%C2%85b.csv", '\u0085'],
    ] as const) {
      await refused(`file name ${JSON.stringify(disposition)}`, () => post(disposition), "data's file name", c);
    }
    // The multipart parser drops a part whose file name holds CR or LF: there is no `data` then.
    for (const disposition of ["; filename*=UTF-8''a%0D%0AX-Forged%3A%201.csv", "; filename*=UTF-8''a%0Ab.csv", '; filename="a\rb.csv"']) {
      const before = await snapshot();
      const res = await post(disposition);
      assert.equal(res.statusCode, 400, `${disposition}: ${res.body}`);
      assert.match(errorOf(res).causes[0]!.text, /^data is required/);
      assert.equal(await snapshot(), before);
    }

    const cell = (value: string) => `"${value.replaceAll('"', '""')}"`;
    const csv = [
      header,
      `bulk.two,${cell('Ann\nBcc: x@example.com')},Lee,555,bulk.two@example.com,jane.doe,2024-01-01,2024-12-31,Sales`,
      `bulk.three,Ann,Lee\u001b[2J,555,bulk.three@example.com,jane.doe,2024-01-01,2024-12-31,${cell('Sa\r\nles')}`,
      'bulk.four,Ann,Lee,555,bulk.four@example.com,jane.doe,2024-01-01,2024-12-31,Sales',
    ].join('\n');
    const before = await h.app.db.kysely.selectFrom('records').select('id').execute();
    const res = await post('; filename="rows.csv"', csv);
    assert.equal(res.statusCode, 202, res.body);
    let job: { id: string; status: string; counts: Record<string, number> } | undefined;
    for (let i = 0; i < 1000; i++) {
      job = (await h.request('GET', `${url}/jobs/${res.json().id}`, h.admin.token)).json();
      if (job!.status === 'COMPLETED' || job!.status === 'ERROR') break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(job!.status, 'ERROR', JSON.stringify(job));
    assert.equal(job!.counts.failed, 2, JSON.stringify(job));
    const errors = (await h.request('GET', `${url}/jobs/${job!.id}/errors`, h.admin.token)).body;
    assert.match(errors, /firstName contains a control character \(U\+000A\)/);
    assert.match(errors, /lastName contains a control character \(U\+001B\)/);
    assert.match(errors, /data\.dept contains a control character \(U\+000D\)/);
    assert.equal((await h.app.db.kysely.selectFrom('records').select('id').execute()).length, before.length);
  });

  test('mails: values a row holds stay on their lines, a comment is quoted line by line, the subject is one line', async () => {
    const { kysely } = h.app.db;
    const res = await h.request('POST', '/v2024/non-employee-requests', manager.token, body('mail.one'));
    assert.equal(res.statusCode, 200, res.body);
    const r = res.json();
    // Values written before control characters were refused, or by another tool.
    await kysely
      .updateTable('requests')
      .set({
        first_name: 'Eve\r\nSubject: forged',
        last_name: 'Lee\nApproved: yes',
        email: 'eve@example.com\r\nBcc: x@example.com',
        account_name: 'eve\u001b[2J',
      })
      .where('id', '=', r.id)
      .execute();
    await kysely.updateTable('identities').set({ name: 'Jane\r\nReply-To: evil@example.com' }).where('id', '=', approver.identity.id).execute();
    await h.app.services.notifications.drain();
    const start = smtp.mails.length;
    const comment = 'Not now.\nSubject: approved after all\r\nRequest: 123\n\nFrom: admin\tthanks';
    const rejected = await h.request('POST', `/v2024/non-employee-approvals/${r.approvalItems[0].id}/reject`, approver.token, { comment });
    assert.equal(rejected.statusCode, 200, rejected.body);
    await h.app.services.notifications.drain();
    // An earlier test's rejection may reach the SMTP server after `start`: this request's mail names Eve.
    const ours = () => smtp.mails.slice(start).find((m) => m.subject.startsWith('Rejected') && m.subject.includes('Eve'));
    let mail = ours();
    for (let i = 0; !mail && i < 500; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      mail = ours();
    }
    assert.ok(mail, 'no rejection mail');
    assert.deepEqual(mail.to, ['jane.doe@example.com']);
    assert.equal(mail.subject.replace(/\s+/g, ' '), 'Rejected: non-employee Eve\\u000d\\u000aSubject: forged Lee\\u000aApproved: yes in Contractors');
    const head = mail.raw.slice(0, mail.raw.indexOf('\r\n\r\n'));
    assert.doesNotMatch(head, /^(Bcc|Reply-To|Approved):/im);
    const lines = mail.text.split('\n');
    const at = lines.indexOf('Comment:');
    assert.deepEqual(lines.slice(at, at + 7), [
      'Comment:',
      '> Not now.',
      '> Subject: approved after all',
      '> Request: 123',
      '> ',
      '> From: admin\tthanks',
      'No record was created. You may correct the request and submit a new one.',
    ]);
    // Every line of the mail is one the server wrote: no value starts a line of its own.
    for (const line of lines) {
      assert.doesNotMatch(line, /^(Subject|Approved|Bcc|Reply-To|Request: 123|From)\b/, `a forged line: ${JSON.stringify(line)}`);
    }
    assert.ok(lines.includes('Non-employee: Eve\\u000d\\u000aSubject: forged Lee\\u000aApproved: yes'), mail.text);
    assert.ok(lines.includes('Account name: eve\\u001b[2J'), mail.text);
    assert.ok(lines.includes('Email: eve@example.com\\u000d\\u000aBcc: x@example.com'), mail.text);
    assert.match(mail.text, /was rejected by Jane\\u000d\\u000aReply-To: evil@example\.com \(approver\.one\)/);
  });

  test('mails: an address holding a control character is not mailed', async () => {
    await h.app.db.kysely
      .updateTable('identities')
      .set({ email: 'one@example.com\r\nRCPT TO:<x@example.com>' })
      .where('id', '=', approver.identity.id)
      .execute();
    const res = await h.request('POST', '/v2024/non-employee-requests', manager.token, body('mail.two'));
    assert.equal(res.statusCode, 200, res.body);
    await h.app.services.notifications.drain();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(!smtp.mails.some((m) => m.text.includes('mail.two')), 'the notice was mailed');
    const [notice] = await h.app.services.notifications.forRequest(h.config.tenant, res.json().id);
    assert.equal(notice!.status, 'UNDELIVERABLE');
    assert.match(notice!.lastError!, /control character/);
  });
});
