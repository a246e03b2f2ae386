/**
 * CSV as NELM reads and writes it. Pure: no HTTP, no SQL.
 *
 * Writing (export, template, job errors): RFC 4180 quoting: a field holding a comma, a double
 * quote, CR or LF is quoted and its quotes doubled; lines end with LF, like SailPoint's examples.
 * Formula injection: a value that a spreadsheet would run as a formula, i.e. one that starts with
 * `=`, `+`, `-`, `@`, TAB or CR, possibly after leading apostrophes, is written with one more
 * apostrophe in front (`=1+1` → `'=1+1`, `+1 555` → `'+1 555`, `'=x` → `''=x`). Reading removes
 * exactly that apostrophe again, so an exported file imports back to the same values.
 *
 * Reading (bulk upload): UTF-8 with or without a BOM, LF, CRLF or CR line ends, quoted fields
 * (RFC 4180; a quote inside an unquoted field is an error), spaces around fields ignored, empty
 * lines and lines of empty fields skipped. Every row must have as many fields as the header and at
 * most MAX_RECORD_CHARS characters; both are checked while the row is read.
 */
import { isUtf8 } from 'node:buffer';

const FORMULA = /^'*[=+\-@\t\r]/;
const NEUTRALISED = /^'+[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** The value as written to a CSV cell, neutralised against formula injection. */
export function neutralise(value: string): string {
  return FORMULA.test(value) ? `'${value}` : value;
}

/** The inverse of `neutralise`, applied to every cell read. */
export function restore(cell: string): string {
  return cell.charCodeAt(0) === 39 && NEUTRALISED.test(cell) ? cell.slice(1) : cell;
}

/** One field: neutralised, then quoted when RFC 4180 requires it. */
export function csvField(value: string): string {
  const v = neutralise(value);
  return NEEDS_QUOTES.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** One line of fields, LF-terminated. */
export function csvLine(values: readonly string[]): string {
  let out = '';
  for (let i = 0; i < values.length; i++) out += (i === 0 ? '' : ',') + csvField(values[i]!);
  return `${out}\n`;
}

export interface CsvRow {
  /** The line the row starts on (the header is line 1 unless empty lines precede it). */
  line: number;
  cells: string[];
}

export interface CsvTable {
  header: string[];
  rows: CsvRow[];
}

/** The file is not CSV text, or not well-formed CSV; `line` when known. */
export class CsvError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'CsvError';
  }
}

const isBlank = (cells: readonly string[]) => cells.every((c) => c === '');

/**
 * The longest record (row) read, in characters, line end included. The largest valid row: 8
 * system fields (accountName, firstName, lastName, phone, manager 255 characters, email 254,
 * the dates 64) and 10 custom ones of 1,024, each with a neutralising apostrophe, every quote
 * doubled and the field quoted: 2 × (11,897 + 18) + 36 quotes + 17 commas + CRLF = 23,885.
 * Rounded up to 24 KiB; test/unit/csv-read.test.ts builds that row.
 */
export const MAX_RECORD_CHARS = 24 * 1024;
/** The most fields a header may have (a source has at most 18 attributes; the rest are reported one by one, up to 50). */
export const MAX_HEADER_FIELDS = 100;
/** Milliseconds of reading between two turns of the event loop. */
const SLICE_MS = 10;

/** Resolves after the event loop has handled the I/O that is waiting. */
export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * For a long loop: what it returns is awaited at every step, and lets the event loop turn once
 * 10 ms have passed since the last turn.
 */
export function pacer(): () => Promise<void> | undefined {
  let since = performance.now();
  return () => {
    if (performance.now() - since < SLICE_MS) return undefined;
    return nextTurn().then(() => {
      since = performance.now();
    });
  };
}

/**
 * The file's records, one at a time: a small state machine rather than a library, several times
 * faster than csv-parse on large files, and it knows the line every record starts on. Fields
 * are trimmed of spaces and tabs around them. A record longer than MAX_RECORD_CHARS or with more
 * fields than `maxFields` is refused as soon as the bound is passed, so a hostile record costs no
 * more than a valid one.
 */
class Tokenizer {
  private readonly n: number;

  constructor(
    private readonly text: string,
    public i = 0,
    public line = 1,
  ) {
    this.n = text.length;
  }

  get done(): boolean {
    return this.i >= this.n;
  }

  private lineBreaks(from: number, to: number): void {
    for (let k = from; k < to; k++) {
      const c = this.text.charCodeAt(k);
      if (c === 10 || (c === 13 && this.text.charCodeAt(k + 1) !== 10)) this.line++;
    }
  }

  private skipBlanks(limit: number): void {
    const end = Math.min(this.n, limit + 1);
    while (this.i < end && (this.text.charCodeAt(this.i) === 32 || this.text.charCodeAt(this.i) === 9)) this.i++;
  }

  /** The next record, blank or not (call while not `done`). */
  record(maxFields: number): CsvRow {
    const { text, n } = this;
    const line = this.line;
    const limit = this.i + MAX_RECORD_CHARS;
    const tooLong = () => new CsvError(`line ${line} is longer than ${MAX_RECORD_CHARS} characters, the most a row may have`, line);
    const cells: string[] = [];
    for (;;) {
      this.skipBlanks(limit);
      if (this.i > limit) throw tooLong();
      let value: string;
      if (text.charCodeAt(this.i) === 34) {
        // Quoted: up to the next lone quote; "" is one quote.
        value = '';
        let from = ++this.i;
        for (;;) {
          const q = text.indexOf('"', this.i);
          if (q > limit || (q < 0 && n > limit)) throw tooLong();
          if (q < 0) throw new CsvError(`line ${line}: a quoted field is not closed`, line);
          this.lineBreaks(this.i, q);
          if (text.charCodeAt(q + 1) === 34) {
            value += text.slice(from, q + 1);
            this.i = from = q + 2;
            continue;
          }
          value += text.slice(from, q);
          this.i = q + 1;
          break;
        }
        this.skipBlanks(limit);
        if (this.i > limit) throw tooLong();
        const c = text.charCodeAt(this.i);
        if (this.i < n && c !== 44 && c !== 13 && c !== 10) {
          throw new CsvError(`line ${this.line}: field ${cells.length + 1} has text after its closing quote`, this.line);
        }
      } else {
        let end = this.i;
        let c = 0;
        const stop = Math.min(n, limit + 1);
        for (; end < stop; end++) {
          c = text.charCodeAt(end);
          if (c === 44 || c === 13 || c === 10 || c === 34) break;
        }
        if (end > limit) throw tooLong();
        if (end < n && c === 34) {
          throw new CsvError(
            `line ${this.line}: field ${cells.length + 1} holds a double quote but is not quoted (quote the field and double its quotes)`,
            this.line,
          );
        }
        value = text.slice(this.i, end);
        const last = value.length > 0 ? value.charCodeAt(value.length - 1) : 0;
        if (last === 32 || last === 9) value = value.replace(/[ \t]+$/, '');
        this.i = end;
      }
      cells.push(value);
      const c = text.charCodeAt(this.i);
      if (c === 44) {
        if (cells.length >= maxFields) throw new CsvError(`line ${line} has more than ${maxFields} fields, ${fieldBound(maxFields)}`, line);
        this.i++;
        continue;
      }
      if (c === 13 || c === 10) {
        this.i += c === 13 && text.charCodeAt(this.i + 1) === 10 ? 2 : 1;
        this.line++;
      }
      return { line, cells };
    }
  }
}

const fieldBound = (maxFields: number) =>
  maxFields === MAX_HEADER_FIELDS ? `the most a header may have (a source has at most 18 attributes)` : `the header has ${maxFields}`;

export interface CsvReader {
  header: string[];
  /**
   * The data rows, read as they are pulled (a large file is never held as a table), each with as
   * many cells as the header, restored (see `restore`). Throws CsvError at a malformed row. The
   * event loop turns every 10 ms of reading (the consumer's work between two rows included).
   */
  rows(): AsyncGenerator<CsvRow>;
}

/** Bytes of the file decoded at a time. */
const PIECE_BYTES = 1024 * 1024;

/** Refuses a file that is empty, not UTF-8 or holding NUL (a few ms for 16 MiB). */
function checkText(bytes: Buffer): void {
  if (bytes.length === 0) throw new CsvError('the file is empty: a header row is expected');
  if (!isUtf8(bytes) || bytes.includes(0)) throw new CsvError('the file is not UTF-8 text');
}

/** The text of a checked file in pieces of about PIECE_BYTES, each ending between two characters; a BOM dropped. */
function* pieces(bytes: Buffer): Generator<string> {
  let at = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (at < bytes.length) {
    let end = Math.min(bytes.length, at + PIECE_BYTES);
    while (end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end--;
    yield bytes.toString('utf8', at, end);
    at = end;
  }
}

/**
 * The records of a checked file, blank ones included, each with the offset of its first character.
 * The text is read through a window, what the previous window left followed by the next piece: a
 * record is read from it only once the window holds the most a record may span (or the file's
 * end), so records come out exactly as from the whole text, which no string ever holds.
 */
function* tokenize(bytes: Buffer, fields: { max: number }): Generator<{ row: CsvRow; start: number }> {
  const texts = pieces(bytes);
  let window = '';
  let offset = 0;
  let line = 1;
  for (;;) {
    const piece = texts.next();
    const final = piece.done === true;
    if (!final) window += piece.value;
    const tokens = new Tokenizer(window, 0, line);
    // A record reads at most two characters past its bound (a closing quote, then CR LF).
    while (!tokens.done && (final || tokens.i + MAX_RECORD_CHARS + 3 < window.length)) {
      const start = offset + tokens.i;
      yield { row: tokens.record(fields.max), start };
    }
    if (final) return;
    offset += tokens.i;
    line = tokens.line;
    window = window.slice(tokens.i);
  }
}

/**
 * The header of a checked file (its first record not blank, which must start within the first
 * MAX_RECORD_CHARS characters), then its data rows, each checked to have as many cells as the
 * header and restored (see `restore`).
 */
function* table(bytes: Buffer): Generator<CsvRow> {
  const fields = { max: MAX_HEADER_FIELDS };
  let header: string[] | undefined;
  for (const { row, start } of tokenize(bytes, fields)) {
    if (!header) {
      if (start > MAX_RECORD_CHARS) throw new CsvError(`the file has no header row in its first ${MAX_RECORD_CHARS} characters`);
      if (isBlank(row.cells)) continue;
      header = row.cells;
      fields.max = header.length;
      yield row;
      continue;
    }
    if (isBlank(row.cells)) continue;
    if (row.cells.length !== header.length) {
      throw new CsvError(`line ${row.line} has ${row.cells.length} fields, the header has ${header.length}`, row.line);
    }
    for (let k = 0; k < row.cells.length; k++) row.cells[k] = restore(row.cells[k]!);
    yield row;
  }
  if (!header) throw new CsvError('the file has no header row');
}

/**
 * Opens a file: checks that it is UTF-8 text without NUL and reads its header (spaces and a BOM
 * ignored). Throws CsvError when it is not CSV text or has no header. The rows are decoded and
 * read as they are pulled, a megabyte of the file at a time.
 */
export function readCsv(bytes: Buffer): CsvReader {
  checkText(bytes);
  const header = table(bytes).next().value!.cells;
  return {
    header,
    async *rows() {
      const rows = table(bytes);
      rows.next();
      let since = performance.now();
      for (const row of rows) {
        if (performance.now() - since >= SLICE_MS) {
          await nextTurn();
          since = performance.now();
        }
        yield row;
      }
    },
  };
}

/** The whole file as a table (small files, tests). */
export function parseCsv(bytes: Buffer): CsvTable {
  checkText(bytes);
  const [header, ...rows] = table(bytes);
  return { header: header!.cells, rows };
}
