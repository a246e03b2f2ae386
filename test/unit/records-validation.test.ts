/** The record rules shared by records, requests and bulk import: dates, email, data, causes. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeRecordDate, parseRecordDate, renderRecordDate, splitRecordDate } from '../../src/modules/records/dates.js';
import {
  changedFields,
  isPlausibleEmail,
  validateRecordInput,
  type RecordAttribute,
  type RecordValidationContext,
} from '../../src/modules/records/validation.js';
import { filterDate } from '../../src/modules/records/collection.js';
import { ApiError } from '../../src/errors/api-error.js';
import { SYSTEM_ATTRIBUTES } from '../../src/modules/schema-attributes/system.js';

const SOURCE = '2c91808568c529c60168cca6f90c1313';
const system: RecordAttribute[] = SYSTEM_ATTRIBUTES.map((a) => ({ technicalName: a.technicalName, required: true, system: true }));
const custom = (technicalName: string, required = false): RecordAttribute => ({ technicalName, required, system: false });
const ctx = (extra: RecordAttribute[] = [], managerExists = true): RecordValidationContext => ({ attributes: [...system, ...extra], managerExists });
const body = (over: Record<string, unknown> = {}) => ({
  accountName: 'william.smith',
  firstName: 'William',
  lastName: 'Smith',
  email: 'william.smith@example.com',
  phone: '5125555555',
  manager: 'jane.doe',
  sourceId: SOURCE,
  startDate: '2020-03-24T00:00:00-05:00',
  endDate: '2021-03-25T00:00:00-05:00',
  ...over,
});
const causesOf = (input: Record<string, unknown>, c = ctx()) => {
  const result = validateRecordInput(input, c);
  assert.equal(result.ok, false, 'expected invalid');
  return result.ok ? [] : result.causes;
};

describe('record dates', () => {
  test('every form the docs use, normalised to toISOString() UTC', () => {
    assert.equal(normalizeRecordDate('2020-03-24T00:00:00-05:00'), '2020-03-24T05:00:00.000Z');
    assert.equal(normalizeRecordDate('2020-03-24T00:00-05:00'), '2020-03-24T05:00:00.000Z');
    assert.equal(normalizeRecordDate('2019-08-23T18:52:59.162Z'), '2019-08-23T18:52:59.162Z');
    assert.equal(normalizeRecordDate('2020-03-24'), '2020-03-24T00:00:00.000Z');
    assert.equal(normalizeRecordDate('2020-04-05T08:00:00-10:00'), '2020-04-05T18:00:00.000Z');
  });

  test('other spellings: offsets without colon, hours only, no offset, lower case, fractions, whitespace', () => {
    assert.equal(normalizeRecordDate('2020-03-24T00:00:00+0530'), '2020-03-23T18:30:00.000Z');
    assert.equal(normalizeRecordDate('2020-03-24T00:00:00+01'), '2020-03-23T23:00:00.000Z');
    assert.equal(normalizeRecordDate('2020-03-24T10:11:12'), '2020-03-24T10:11:12.000Z');
    assert.equal(normalizeRecordDate('2020-03-24t10:11:12z'), '2020-03-24T10:11:12.000Z');
    assert.equal(normalizeRecordDate('2020-03-24T10:11:12.123456789Z'), '2020-03-24T10:11:12.123Z');
    assert.equal(normalizeRecordDate('2020-03-24T10:11:12.5Z'), '2020-03-24T10:11:12.500Z');
    assert.equal(normalizeRecordDate('2020-03-24T10:11:12.0589Z'), '2020-03-24T10:11:12.058Z');
    assert.equal(normalizeRecordDate(' 2020-03-24 '), '2020-03-24T00:00:00.000Z');
    assert.equal(normalizeRecordDate('2020-12-31T23:30:00-01:00'), '2021-01-01T00:30:00.000Z');
  });

  test('a date comes back with the offset it was written with, as the same local date-time', () => {
    const text = (value: string) => {
      const parsed = parseRecordDate(value);
      assert.ok(parsed.ok, value);
      return parsed.text;
    };
    assert.equal(text('2020-03-24T00:00:00-05:00'), '2020-03-24T00:00:00-05:00');
    assert.equal(text('2020-03-24T00:00-05:00'), '2020-03-24T00:00:00-05:00');
    assert.equal(text('2020-03-24T23:30:00-05:00'), '2020-03-24T23:30:00-05:00');
    assert.equal(text('2020-03-24T00:00:00+0530'), '2020-03-24T00:00:00+05:30');
    assert.equal(text('2020-03-24T00:00:00+01'), '2020-03-24T00:00:00+01:00');
    assert.equal(text('2019-08-23T18:52:59.162Z'), '2019-08-23T18:52:59.162Z');
    assert.equal(text('2020-03-24T10:11:12.5+02:00'), '2020-03-24T10:11:12.500+02:00');
    assert.equal(text('2020-03-24'), '2020-03-24T00:00:00Z', 'a plain date is midnight UTC');
    assert.equal(text('2020-03-24T10:11:12'), '2020-03-24T10:11:12Z', 'no offset is UTC');
    assert.equal(text('2020-03-24t10:11:12z'), '2020-03-24T10:11:12Z');
  });

  test('the stored instant and offset give the date back; rows without an offset come back in UTC', () => {
    for (const value of ['2020-03-24T00:00:00-05:00', '2020-12-31T23:30:00-01:00', '2021-01-01T05:45:00+05:45', '2019-08-23T18:52:59.162Z']) {
      const { instant, zone } = splitRecordDate(value);
      assert.equal(renderRecordDate(instant, zone), value);
    }
    assert.deepEqual(splitRecordDate('2020-12-31T23:30:00-01:00'), { instant: '2021-01-01T00:30:00.000Z', zone: '-01:00' });
    assert.equal(renderRecordDate('2020-03-24T05:00:00.000Z', 'Z'), '2020-03-24T05:00:00Z');
  });

  test('leap days: 2020-02-29 and 2000-02-29 exist, 2019-02-29 and 1900-02-29 do not', () => {
    assert.equal(normalizeRecordDate('2020-02-29'), '2020-02-29T00:00:00.000Z');
    assert.equal(normalizeRecordDate('2000-02-29'), '2000-02-29T00:00:00.000Z');
    assert.equal(normalizeRecordDate('2019-02-29'), undefined);
    assert.equal(normalizeRecordDate('1900-02-29'), undefined);
  });

  test('impossible dates and times are refused, saying why', () => {
    for (const bad of [
      '2020-02-30',
      '2020-04-31',
      '2020-13-01',
      '2020-00-10',
      '2020-01-00',
      '2020-03-24T24:00:00Z',
      '2020-03-24T10:60Z',
      '2020-03-24T10:00:60Z',
      '2020-03-24T00:00+19:00',
      '2020-03-24T00:00+05:60',
    ]) {
      const parsed = parseRecordDate(bad);
      assert.equal(parsed.ok, false, bad);
      assert.ok(!parsed.ok && parsed.reason.length > 0);
    }
    const feb = parseRecordDate('2020-02-30');
    assert.ok(!feb.ok && /no day 30/.test(feb.reason));
  });

  test('malformed text is refused', () => {
    for (const bad of [
      '',
      'yesterday',
      '2020-3-24',
      '20200324',
      '2020-03-24T',
      '2020-03-24 10:00',
      '2020-03-24T10',
      '2020-03-24T10:00:00ZZ',
      '24/03/2020',
      '1584835200000',
      '+02020-03-24',
    ]) {
      assert.equal(normalizeRecordDate(bad), undefined, bad);
    }
  });

  test('out of range: before 1900 or after 9999 in UTC', () => {
    assert.equal(normalizeRecordDate('1899-12-31'), undefined);
    assert.equal(normalizeRecordDate('0050-01-01'), undefined);
    assert.equal(normalizeRecordDate('0000-01-01'), undefined);
    assert.equal(normalizeRecordDate('9999-12-31T23:00:00-05:00'), undefined, 'is 10000-01-01 in UTC');
    assert.equal(normalizeRecordDate('9999-12-31T23:59:59.999Z'), '9999-12-31T23:59:59.999Z');
    assert.equal(normalizeRecordDate('1900-01-01'), '1900-01-01T00:00:00.000Z');
    assert.equal(normalizeRecordDate('1899-12-31T23:00:00-05:00'), '1900-01-01T04:00:00.000Z');
    const parsed = parseRecordDate('1800-01-01');
    assert.ok(!parsed.ok && /1900 to 9999/.test(parsed.reason));
  });

  test('filter values use the same parser, and a bad one is a 400', () => {
    assert.equal(filterDate('2020-03-24'), '2020-03-24T00:00:00.000Z');
    assert.throws(
      () => filterDate('2020-02-30'),
      (e: unknown) => e instanceof ApiError && e.status === 400 && /filter/i.test(e.text),
    );
  });
});

describe('email', () => {
  test('plausible addresses pass', () => {
    for (const ok of ['a@b.co', 'william.smith@example.com', 'first+tag@sub.example.org', "o'hara@example.ie", 'x_y-z@a-b.example', 'josé@exemple.fr'])
      assert.ok(isPlausibleEmail(ok), ok);
  });
  test('implausible ones fail', () => {
    for (const bad of [
      '',
      'plain',
      '@example.com',
      'a@',
      'a@b',
      'a@@b.com',
      'a b@c.com',
      'a@b .com',
      '.a@b.com',
      'a.@b.com',
      'a..b@c.com',
      'a@-b.com',
      'a@b-.com',
      'a@b..com',
      'a@1.2.3.4',
      `${'x'.repeat(65)}@b.com`,
      `a@${'b'.repeat(250)}.com`,
    ]) {
      assert.ok(!isPlausibleEmail(bad), bad);
    }
  });
});

describe('validateRecordInput', () => {
  test('a valid body is normalised: trimmed text, sourceId as given (the service resolved it), ISO dates, data', () => {
    const result = validateRecordInput(
      body({ accountName: '  william.smith ', sourceId: ` ${SOURCE} `, data: { description: ' Auditing ' } }),
      ctx([custom('description')]),
    );
    assert.ok(result.ok);
    assert.deepEqual(result.value, {
      accountName: 'william.smith',
      firstName: 'William',
      lastName: 'Smith',
      email: 'william.smith@example.com',
      phone: '5125555555',
      manager: 'jane.doe',
      sourceId: SOURCE,
      startDate: '2020-03-24T00:00:00-05:00',
      endDate: '2021-03-25T00:00:00-05:00',
      data: { description: 'Auditing' },
    });
  });

  test('every required field missing or blank: one cause each, in the spec order', () => {
    const causes = causesOf({ firstName: '   ', data: {} });
    assert.deepEqual(
      causes.map((c) => c.field),
      ['accountName', 'firstName', 'lastName', 'email', 'phone', 'manager', 'sourceId', 'startDate', 'endDate'],
    );
    assert.ok(causes.every((c) => c.text === `${c.field} is required`));
  });

  test('wrong types and lengths', () => {
    const causes = causesOf(body({ firstName: 5, lastName: 'x'.repeat(256), startDate: 20200324, data: [] }));
    assert.deepEqual(
      causes.map((c) => [c.field, c.text]),
      [
        ['firstName', 'firstName must be a string'],
        ['lastName', 'lastName must be at most 255 characters'],
        ['startDate', 'startDate must be a string'],
        ['data', 'data must be an object of string values'],
      ],
    );
  });

  test('email, manager, sourceId, dates and their order, one cause per field', () => {
    const causes = causesOf(body({ email: 'not-an-email', sourceId: 'nope', startDate: '2020-02-30', endDate: '2019-01-01' }), ctx([], false));
    assert.deepEqual(
      causes.map((c) => c.field),
      ['email', 'manager', 'sourceId', 'startDate'],
    );
    assert.match(causes[0]!.text, /not a valid email/);
    assert.match(causes[1]!.text, /manager "jane.doe" is not the account name/);
    assert.match(causes[2]!.text, /sourceId "nope" is not a valid id/);
    assert.match(causes[3]!.text, /startDate "2020-02-30" is not a calendar date/);
  });

  test('startDate after endDate is refused; equal is fine', () => {
    const causes = causesOf(body({ startDate: '2021-01-02', endDate: '2021-01-01T23:59:59Z' }));
    assert.deepEqual(
      causes.map((c) => c.field),
      ['endDate'],
    );
    assert.match(causes[0]!.text, /before startDate/);
    assert.ok(validateRecordInput(body({ startDate: '2021-01-01', endDate: '2021-01-01T00:00:00Z' }), ctx()).ok);
    // The same instant written with two offsets.
    assert.ok(validateRecordInput(body({ startDate: '2021-01-01T05:00:00Z', endDate: '2021-01-01T00:00-05:00' }), ctx()).ok);
  });

  test('an unknown source is one cause on sourceId, and data is then not checked against a schema', () => {
    const causes = causesOf(body({ data: { anything: 'x' } }), { attributes: null, managerExists: true });
    assert.deepEqual(causes, [{ field: 'sourceId', text: `sourceId ${SOURCE} does not name a non-employee source` }]);
  });

  test('data: unknown keys named, system names are not custom attributes, non-string values', () => {
    const causes = causesOf(body({ data: { description: 'ok', costCenter: 'x', firstName: 'y', team: 5 } }), ctx([custom('description'), custom('team')]));
    assert.deepEqual(
      causes.map((c) => c.field),
      ['data.costCenter', 'data.firstName', 'data.team'],
    );
    assert.match(causes[0]!.text, /data.costCenter is not a custom attribute of the source; its custom attributes are description, team/);
    assert.match(causes[2]!.text, /data.team must be a string/);
    const none = causesOf(body({ data: { x: 'y' } }));
    assert.match(none[0]!.text, /it has no custom attributes/);
  });

  test('required custom attributes: missing or blank is a cause; optional ones may be left out', () => {
    const attrs = ctx([custom('costCenter', true), custom('team', true), custom('note')]);
    const causes = causesOf(body({ data: { team: '  ' } }), attrs);
    assert.deepEqual(causes, [
      { field: 'data.costCenter', text: 'data.costCenter is required' },
      { field: 'data.team', text: 'data.team is required' },
    ]);
    assert.deepEqual(
      causesOf(body(), attrs).map((c) => c.field),
      ['data.costCenter', 'data.team'],
    );
    const ok = validateRecordInput(body({ data: { costCenter: 'CC1', team: 'Blue' } }), attrs);
    assert.ok(ok.ok && ok.value.data.costCenter === 'CC1' && !('note' in ok.value.data));
  });

  test('an update is not held to what changed since the record was written, only to what it changes', () => {
    const attrs = ctx([custom('costCenter', true), custom('team')], false);
    const stored = validateRecordInput(body({ manager: 'gone.manager', data: { team: 'Blue' } }), { ...ctx([custom('team')]) });
    assert.ok(stored.ok);
    const existing = stored.value;
    const update = (over: Record<string, unknown>) =>
      validateRecordInput(body({ manager: 'gone.manager', data: { team: 'Blue' }, ...over }), { ...attrs, existing });
    // costCenter became required and the manager's identity went away after the record was stored:
    // leaving both as they were passes; a create of the same body does not.
    const endDateOnly = update({ endDate: '2030-01-01' });
    assert.ok(endDateOnly.ok, JSON.stringify(endDateOnly));
    assert.equal(endDateOnly.value.endDate, '2030-01-01T00:00:00Z');
    assert.ok(update({ data: { team: 'Blue', costCenter: '  ' } }).ok, 'still as empty as stored');
    assert.deepEqual(
      causesOf(body({ manager: 'gone.manager', data: { team: 'Blue' } }), attrs).map((c) => c.field),
      ['manager', 'data.costCenter'],
    );
    // A new manager must exist; a required value once set cannot be emptied.
    const moved = update({ manager: 'someone.else' });
    assert.ok(!moved.ok && moved.causes.map((c) => c.field).join() === 'manager');
    const set = { ...existing, data: { team: 'Blue', costCenter: 'CC1' } };
    const emptied = validateRecordInput(body({ manager: 'gone.manager', data: { team: 'Blue' } }), { ...attrs, existing: set });
    assert.ok(!emptied.ok && emptied.causes.map((c) => c.field).join() === 'data.costCenter');
    // Format rules still apply to every field.
    const bad = update({ email: 'nope' });
    assert.ok(!bad.ok && bad.causes.map((c) => c.field).join() === 'email');
  });

  test('a data value longer than 1024 characters', () => {
    const causes = causesOf(body({ data: { note: 'x'.repeat(1025) } }), ctx([custom('note')]));
    assert.deepEqual(
      causes.map((c) => c.field),
      ['data.note'],
    );
  });

  test('changedFields compares normalised values, data as a map', () => {
    const a = validateRecordInput(body({ data: { a: '1', b: '2' } }), ctx([custom('a'), custom('b')]));
    const b = validateRecordInput(body({ endDate: '2022-01-01', data: { b: '2', a: '1' } }), ctx([custom('a'), custom('b')]));
    assert.ok(a.ok && b.ok);
    assert.deepEqual(changedFields(a.value, b.value), ['endDate']);
    assert.deepEqual(changedFields(a.value, { ...b.value, firstName: 'Will', data: { a: '1' } }), ['firstName', 'endDate', 'data']);
    // A key of one that the other lacks, even with the other's key count.
    assert.deepEqual(changedFields({ ...a.value, data: { a: '1', b: '2' } }, { ...a.value, data: { a: '1', c: '2' } }), ['data']);
    assert.deepEqual(changedFields({ ...a.value, data: {} }, { ...a.value, data: { a: '' } }), ['data']);
    assert.deepEqual(changedFields({ ...a.value, data: { a: '1' } }, { ...a.value, data: { a: '1' } }), []);
  });
});
