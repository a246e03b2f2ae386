/**
 * The bench's records: deterministic but varied, shaped like real ones (4 custom attributes in
 * `data`, ISO 8601 UTC dates with milliseconds as the server stores them). The same generator
 * feeds the seeding (rows) and the bare server (its fixed record and page), so both serialize
 * the same kind of objects.
 */
import { randomUUID } from 'node:crypto';
import type { NonEmployeeRecord } from '../../src/modules/records/model.js';

/** The custom schema attributes each bench source has (and every record fills). */
export const CUSTOM = ['department', 'costCenter', 'location', 'contractType'] as const;

const FIRST = [
  'Ada',
  'Grace',
  'Alan',
  'Edsger',
  'Barbara',
  'Donald',
  'Frances',
  'Ken',
  'Margaret',
  'John',
  'Radia',
  'Tim',
  'Hedy',
  'Linus',
  'Sophie',
  'Niklaus',
];
// 64 × 31 = 1,984 distinct last names: a source of 20,000 has ~10 records per name (ties sort by id).
const STEMS = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Allen',
  "O'Neil",
  'Hamilton',
  'McCarthy',
  'Perlman',
  'Berners',
  'Lamarr',
  'Torvalds',
  'Wilson',
  'Wirth',
];
const SUFFIX = [
  '',
  'son',
  'er',
  'ley',
  'man',
  'ford',
  'ton',
  'wood',
  'field',
  'berg',
  'stein',
  'ini',
  'ez',
  'ova',
  'sky',
  'ak',
  'ard',
  'ell',
  'ing',
  'is',
  'ka',
  'la',
  'mo',
  'ne',
  'or',
  'pe',
  'ri',
  'sa',
  'tu',
  'vy',
  'ze',
];
const LAST = STEMS.flatMap((stem) => SUFFIX.map((s) => stem + s)).concat(STEMS.map((stem) => `${stem}-Smith`));
const DEPARTMENTS = ['Engineering', 'Finance', 'Facilities', 'Legal', 'Marketing', 'Operations', 'Research', 'Sales', 'Security', 'Support'];
const CITIES = ['Austin', 'Berlin', 'Lisbon', 'London', 'Melbourne', 'Montreal', 'Paris', 'Pune', 'Singapore', 'Tokyo'];

/** A record as the API shows it: the domain record's fields. */
export type WireRecord = NonEmployeeRecord;

const BASE = Date.UTC(2025, 0, 6, 9, 0, 0);
const DAY = 24 * 3600 * 1000;

/** Mixes an integer (so that names do not follow the insertion order). */
function mix(n: number): number {
  let x = Math.imul(n ^ 0x9e3779b9, 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Record `i` (0-based) of source number `s`; `n` is its global number (creation order). */
export function benchRecord(sourceId: string, s: number, i: number, n: number, manager: string, id: string = randomUUID().replaceAll('-', '')): WireRecord {
  const h = mix(n);
  const first = FIRST[h % FIRST.length]!;
  const last = LAST[(h >>> 4) % LAST.length]!;
  const account = `${first}.${last}.${s}.${i}`.toLowerCase().replace(/[^a-z0-9.]/g, '');
  const created = new Date(BASE + n * 1000).toISOString();
  const modified = h % 4 === 0 ? new Date(BASE + n * 1000 + (h % 90) * DAY).toISOString() : created;
  const start = BASE + ((h >>> 8) % 400) * DAY;
  return {
    id,
    accountName: account,
    firstName: first,
    lastName: last,
    email: `${account}@contractors.example.com`,
    phone: `+1 512 555 ${String(h % 10_000).padStart(4, '0')}`,
    manager,
    sourceId,
    data: {
      department: DEPARTMENTS[h % DEPARTMENTS.length]!,
      costCenter: `CC-${1000 + ((h >>> 3) % 900)}`,
      location: CITIES[(h >>> 5) % CITIES.length]!,
      contractType: h % 3 === 0 ? 'Fixed term' : 'Time and materials',
    },
    startDate: new Date(start).toISOString(),
    endDate: new Date(start + (180 + (h % 540)) * DAY).toISOString(),
    modified,
    created,
  };
}
