/**
 * The "Authorization matrix" section of docs/security.md, from the matrix data. Printed by
 *
 *   npx tsx test/authz/render.ts
 *
 * to paste over the section (from its heading to the next `## ` heading); render.test.ts checks
 * that the page holds what this prints.
 */
import { pathToFileURL } from 'node:url';
import { CALLERS, CALLER_LABELS, CALLER_SHORT, MATRIX, cellText, type Row } from './matrix.js';

const cellCount = MATRIX.length * CALLERS.length;
const ops = new Set(MATRIX.map((r) => r.op)).size;

const escapeCell = (text: string) => text.replaceAll('|', '\\|').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
const operation = (row: Row) => `\`${row.op}\`${row.write ? ' ✎' : ''}`;

export function authorizationSection(): string {
  const lines: string[] = [];
  lines.push('## Authorization matrix');
  lines.push('');
  lines.push(
    `Every operation (${ops}: the 32 of SailPoint's NELM API, the 3 bulk-job extensions and the schema attributes' order) against every kind of caller, ` +
      `${MATRIX.length} rows × ${CALLERS.length} callers = ${cellCount} cells. The table is data: ` +
      '`test/authz/matrix.ts`. `test/authz/matrix.test.ts` turns every cell into a test under every API flavour ' +
      '(v2024, beta and v1 in full; v3, v2025 and v2026 a third of the cells each, together every cell once; ' +
      '`NELM_AUTHZ_FULL=1` runs every cell under every flavour) and checks the status, the body shape against the upstream ' +
      'OpenAPI slices, and for lists, summaries and exports exactly which objects come back (and `X-Total-Count`). ' +
      'A refused write must leave the database exactly as it was. This section is printed by `npx tsx test/authz/render.ts`.',
  );
  lines.push('');
  lines.push('The fixture world:');
  lines.push('');
  lines.push(
    '- source **A** (`srcA`): an owner; account managers: one identity directly and a governance group; approvers: level 1 then level 2; ' +
      'a custom schema attribute; records `rA1`, `rA2`; a finished bulk upload job `jobA`;',
  );
  lines.push('- source **B** (`srcB`): another owner, its own account manager and approver; record `rB1`;');
  lines.push('- request `qA` in A, made by the requester: item `iA1` (level 1) PENDING, item `iA2` (level 2) NOT_READY;');
  lines.push("- request `qB` in B, made by B's account manager: item `iB1` PENDING.");
  lines.push('');
  lines.push('A write cell (✎) that succeeds acts on a fresh object made like the target (same source, same relationships).');
  lines.push('');
  lines.push('Callers:');
  lines.push('');
  lines.push('| column | caller |');
  lines.push('|---|---|');
  for (const c of CALLERS) lines.push(`| ${CALLER_SHORT[c]} | ${CALLER_LABELS[c]} |`);
  lines.push('');
  lines.push('Cells:');
  lines.push('');
  lines.push('| cell | meaning |');
  lines.push('|---|---|');
  lines.push('| `200 {…}`, `202 {…}` | that status, a JSON object as the contract defines it |');
  lines.push('| `200 [rA1 rA2]` | a JSON array of exactly these objects of the world (`200 []`: an empty array); `X-Total-Count` agrees |');
  lines.push('| `200 {pending:1 records:2}` | a summary with exactly these counts (others 0; `records` is `nonEmployeeCount`); `200 {0}`: all 0 |');
  lines.push('| `200 csv`, `200 csv(rA1 rA2)` | `text/csv`; with names, its rows are exactly these records |');
  lines.push('| `204` | no body |');
  lines.push('| `400`, `403`, `404` | that status, an `ErrorResponseDto` (`400.1…`, `403 Forbidden`, `404 Not found`) |');
  lines.push('| `401` | `{"error": …}`, naming the reason (no header, expired, invalid signature, deleted API client) |');
  lines.push('');
  lines.push(`| operation | target | ${CALLERS.map((c) => CALLER_SHORT[c]).join(' | ')} |`);
  lines.push(`|---|---|${CALLERS.map(() => '---').join('|')}|`);
  for (const row of MATRIX) {
    lines.push(`| ${operation(row)} | ${escapeCell(row.target)} | ${CALLERS.map((c) => escapeCell(cellText(row.cells[c]))).join(' | ')} |`);
  }
  lines.push('');
  lines.push('Cells decided here (the contract does not settle them):');
  lines.push('');
  for (const note of NOTES()) lines.push(`- ${note}`);
  return `${lines.join('\n')}\n`;
}

function NOTES(): string[] {
  return [
    'The owner of a source reads what they own, as the contract says of get and list sources ("the sources he or she owns"): ' +
      'the source, its schema attributes, its records (those whose `endDate` they may change), its requests, its export and template, ' +
      "and the summary of its requests; they may create requests in it and change a record's `endDate`, nothing else. " +
      'PUT and PATCH answer the whole record, as the contract says; a PATCH of theirs that changes nothing (`[]`, only `test` ' +
      'operations) or that tests another field is a 403: it would change no end date.',
    'A caller with only `idn:nesr:update` cannot get a record but may PATCH it, and a PATCH answers the record, even one that changes ' +
      'nothing: that right may also make its holder an account manager of any source (patch source), so it reads everything anyway.',
    'Granted beyond the contract, each for a reason: account managers (and owners) may get a record, a request and an export or ' +
      'template of their source, which the contract reserves to `idn:nesr:read`: the contract grants them the lists of the same ' +
      'records and attributes, and a get or export shows nothing the list does not. Account managers may file requests, which the ' +
      "contract's create text grants to owners: the list of requests is described as theirs. Upload status and jobs answer " +
      '`idn:nesr:create` as well as `idn:nesr:read`: who may upload must be able to follow the upload.',
    'Lists without `requested-for` (sources) answer 403 to callers without `idn:nesr:read` instead of an empty list; ' +
      '`requested-for=me` answers what the caller manages (approvals: what they approve), which may be nothing.',
    'An approver sees their own item while it is NOT_READY (get, list), and deciding it answers 400 (`400.1.3`), not 403: ' +
      'they are its approver, the item is not ready. Org admins may not approve or reject (403): only the named approver decides.',
    'The requester may get and list their request but not delete it (`idn:nesr:delete`); approvers do not get the request itself, ' +
      'they get their approval item with its detail.',
    "Bulk upload needs `idn:nesr:create` (the contract's rule), although an upload may also update existing records of the source.",
    "An object under another object's path (a schema attribute or a bulk job of A under B's URL) is 404 to whoever may read B, " + '403 to whoever may not.',
    '401 comes before anything else: no cell of the four bad-token columns reaches an operation.',
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.stdout.write(authorizationSection());
