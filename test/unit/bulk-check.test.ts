/**
 * A job's check of its file (src/modules/bulk/check.ts) on a worker thread: the same result as on
 * the calling thread for valid files, invalid rows, headers that do not match and files that are
 * not CSV; the worker asks once for the managers it names, runs at a lower priority where the OS
 * allows it, and a failure ends the check with an error, not the process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { after } from 'node:test';
import { CheckedRecords, checkFile, FileCheckers, type FileCheck, type KnownManagers } from '../../src/modules/bulk/check.js';
import { csvLine } from '../../src/modules/bulk/csv.js';
import type { RecordAttribute } from '../../src/modules/records/validation.js';
import { threadNices } from '../helpers/threads.js';

const SOURCE = '2c9180835d2e5168015d32f890ca1581';
const checkers = new FileCheckers();
after(() => checkers.close());
const checkInWorker = (parts: readonly Buffer[], attrs: readonly RecordAttribute[], sourceId: string, known: KnownManagers) =>
  checkers.check(parts, attrs, sourceId, known);
const SYSTEM = ['accountName', 'firstName', 'lastName', 'email', 'phone', 'manager', 'startDate', 'endDate'];
const attributes: RecordAttribute[] = [
  ...SYSTEM.map((technicalName) => ({ technicalName, system: true, required: true })),
  { technicalName: 'dept', system: false, required: false },
  { technicalName: 'site', system: false, required: false },
];

const row = (i: number, manager = 'jane.doe') => [
  `user${i}`,
  'Ann',
  `Lee ${i}`,
  `u${i}@example.com`,
  '5125550100',
  manager,
  '2026-01-01',
  '2027-01-01',
  'Sales',
];
const file = (lines: string[][]) => Buffer.from(lines.map(csvLine).join(''));
const header = [...SYSTEM, 'dept'];

/** A check's result in plain values: the outcome, or each record's key and text. */
const plain = (result: FileCheck) =>
  'outcome' in result
    ? { outcome: result.outcome }
    : { absent: result.absent, records: Array.from({ length: result.records.count }, (_, k) => [result.records.keys[k], result.records.text(k)]) };

const files: Record<string, Buffer[]> = {
  valid: [file([header, ...Array.from({ length: 300 }, (_, i) => row(i))])],
  'valid, in two parts': (() => {
    const whole = file([header, ...Array.from({ length: 50 }, (_, i) => row(i))]);
    return [whole.subarray(0, 1000), whole.subarray(1000)];
  })(),
  'invalid rows and an unknown manager': [file([header, row(1), [...row(2).slice(0, 3), 'not an email', ...row(2).slice(4)], row(3, 'nobody'), row(1)])],
  'a header that does not match': [
    file([
      ['accountName', 'firstName', 'colour'],
      ['a', 'b', 'c'],
    ]),
  ],
  'not CSV': [Buffer.from('accountName,firstName\n"unclosed,x\n')],
  'not text': [Buffer.from([0xff, 0xfe, 0x00, 0x41])],
};

for (const [name, parts] of Object.entries(files)) {
  test(`on a worker, the check says what it says on the calling thread: ${name}`, async () => {
    const asked: string[][] = [];
    const known = async (aliases: Set<string>) => {
      asked.push([...aliases].sort());
      return new Set([...aliases].filter((a) => a === 'jane.doe'));
    };
    const here = await checkFile(parts, attributes, SOURCE, known);
    const there = await checkInWorker(parts, attributes, SOURCE, known);
    assert.deepEqual(plain(there), plain(here));
    assert.equal(asked.length % 2, 0, 'the managers asked once per check, or never');
    if (asked.length > 0) assert.deepEqual(asked[1], asked[0]);
  });
}

test('the records of a valid file come as texts laid end to end: each one its record, multi-byte text included', async () => {
  const lines = [header, ['zoë', 'Zoë', 'Ñúñez', 'zoe@example.com', '1', 'jane.doe', '2026-01-01', '2027-01-01', '営業'], row(7)];
  const result = await checkInWorker([file(lines)], attributes, SOURCE, async (a: Set<string>) => a);
  assert.ok('records' in result);
  assert.equal(result.records.count, 2);
  assert.deepEqual(result.records.keys, ['zoë', 'user7']);
  const first = JSON.parse(result.records.text(0)) as { accountName: string; lastName: string; data: Record<string, string> };
  assert.equal(first.lastName, 'Ñúñez');
  assert.deepEqual(first.data, { dept: '営業' });
  assert.equal((JSON.parse(result.records.text(1)) as { accountName: string }).accountName, 'user7');
  assert.deepEqual(result.absent, ['site']);
  const again = CheckedRecords.of(['{"a":"é"}', '{"b":2}'], ['a', 'b']);
  assert.deepEqual([again.text(0), again.text(1)], ['{"a":"é"}', '{"b":2}']);
});

test('a worker is kept for the next check; checks at once each get one', async () => {
  const known = async (aliases: Set<string>) => aliases;
  await checkers.close();
  await checkInWorker(files.valid!, attributes, SOURCE, known);
  assert.equal(checkers.size, 1);
  await checkInWorker(files.valid!, attributes, SOURCE, known);
  assert.equal(checkers.size, 1, 'none started for the second check');
  const results = await Promise.all([1, 2, 3].map(() => checkInWorker(files.valid!, attributes, SOURCE, known)));
  for (const result of results) assert.equal('records' in result && result.records.count, 300);
  assert.equal(checkers.size, 3, 'two more for three checks at once');
});

test('a failure to tell the managers ends the check with that error, and its worker with it', async () => {
  await checkInWorker(files.valid!, attributes, SOURCE, async (aliases: Set<string>) => aliases);
  const before = checkers.size;
  const threadsBefore = threads();
  await assert.rejects(
    checkInWorker(files.valid!, attributes, SOURCE, async () => {
      throw new Error('the directory is gone');
    }),
    /the directory is gone/,
  );
  assert.equal(checkers.size, before - 1, 'its worker is not kept');
  for (let i = 0; i < 100 && threads() >= threadsBefore; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(threads() < threadsBefore, 'its thread ended');
  const next = await checkInWorker(files.valid!, attributes, SOURCE, async (aliases: Set<string>) => aliases);
  assert.ok('records' in next, 'the next check gets a worker');
});

test('the worker runs at nice 10 where the OS sets priorities per thread (Linux)', { skip: !existsSync('/proc/thread-self') }, async () => {
  let nices: number[] = [];
  await checkInWorker(files.valid!, attributes, SOURCE, async (aliases: Set<string>) => {
    // The worker waits for this answer: its thread is there, and has set its priority.
    nices = threadNices();
    return aliases;
  });
  assert.ok(nices.includes(10), `nice values of this process's threads: ${nices.join(', ')}`);
  assert.equal(nices[0], 0, 'the main thread keeps its priority');
});

function threads(): number {
  return existsSync('/proc/self/task') ? readdirSync('/proc/self/task').length : 0;
}
