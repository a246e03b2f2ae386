/** The benchmark's CSV: N rows of a source with 10 custom attributes, deterministic. */
import { csvLine } from '../../src/modules/bulk/csv.js';

export const CUSTOM = Array.from({ length: 10 }, (_, i) => `attr${String(i + 1).padStart(2, '0')}`);
export const HEADER = ['accountName', 'firstName', 'lastName', 'phone', 'email', 'manager', 'startDate', 'endDate', ...CUSTOM];

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', "O'Neil"];

/**
 * One row as the file holds it (dates ISO 8601, as an export writes them). The end dates are far
 * ahead: the records are not due for the lifecycle's expiry, whose work bench/lifecycle measures.
 */
export function row(i: number, manager: string): string[] {
  const n = String(i).padStart(5, '0');
  const start = new Date(Date.UTC(2024, i % 12, 1 + (i % 28))).toISOString();
  const end = new Date(Date.UTC(2096, i % 12, 1 + (i % 28))).toISOString();
  const custom = CUSTOM.map((_, k) => (k === 0 ? `Department ${i % 40}` : k === 1 ? `Cost center ${1000 + (i % 250)}, "EMEA"` : `value ${k}-${i % 97}`));
  return [`contractor.${n}`, FIRST[i % FIRST.length]!, LAST[i % LAST.length]!, `555-01${n}`, `contractor.${n}@example.com`, manager, start, end, ...custom];
}

export function csvFile(rows: number, manager: string): Buffer {
  const parts = [csvLine(HEADER)];
  for (let i = 0; i < rows; i++) parts.push(csvLine(row(i, manager)));
  return Buffer.from(parts.join(''));
}
