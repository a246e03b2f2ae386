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
 * lines and lines of empty fields skipped. Every row must have as many fields as the header.
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
 * The file's records, one at a time: a small state machine rather than a library, several times
 * faster than csv-parse on large files, and it knows the line every record starts on. Fields
 * are trimmed of spaces and tabs around them.
 */
class Tokenizer {
  private i = 0;
  private line = 1;
  private readonly n: number;

  constructor(private readonly text: string) {
    this.n = text.length;
  }

  private lineBreaks(from: number, to: number): void {
    for (let k = from; k < to; k++) {
      const c = this.text.charCodeAt(k);
      if (c === 10 || (c === 13 && this.text.charCodeAt(k + 1) !== 10)) this.line++;
    }
  }

  private skipBlanks(): void {
    while (this.i < this.n && (this.text.charCodeAt(this.i) === 32 || this.text.charCodeAt(this.i) === 9)) this.i++;
  }

  /** The next record that is not blank, or undefined at the end. */
  next(): CsvRow | undefined {
    while (this.i < this.n) {
      const record = this.record();
      if (!isBlank(record.cells)) return record;
    }
    return undefined;
  }

  private record(): CsvRow {
    const { text, n } = this;
    const line = this.line;
    const cells: string[] = [];
    for (;;) {
      this.skipBlanks();
      let value: string;
      if (text.charCodeAt(this.i) === 34) {
        // Quoted: up to the next lone quote; "" is one quote.
        value = '';
        let from = ++this.i;
        for (;;) {
          const q = text.indexOf('"', this.i);
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
        this.skipBlanks();
        const c = text.charCodeAt(this.i);
        if (this.i < n && c !== 44 && c !== 13 && c !== 10) {
          throw new CsvError(`line ${this.line}: field ${cells.length + 1} has text after its closing quote`, this.line);
        }
      } else {
        let end = this.i;
        let c = 0;
        for (; end < n; end++) {
          c = text.charCodeAt(end);
          if (c === 44 || c === 13 || c === 10 || c === 34) break;
        }
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

export interface CsvReader {
  header: string[];
  /**
   * The data rows, read as they are pulled (a large file is never held as a table), each with as
   * many cells as the header, restored (see `restore`). Throws CsvError at a malformed row.
   */
  rows(): Generator<CsvRow>;
}

/**
 * Opens a file: checks that it is UTF-8 text and reads its header (spaces and a BOM ignored).
 * Throws CsvError when it is not CSV text or has no header.
 */
export function readCsv(bytes: Buffer): CsvReader {
  if (bytes.length === 0) throw new CsvError('the file is empty: a header row is expected');
  if (!isUtf8(bytes) || bytes.includes(0)) throw new CsvError('the file is not UTF-8 text');
  const text = bytes.toString('utf8', bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0);
  const first = new Tokenizer(text).next();
  if (!first) throw new CsvError('the file has no header row');
  const header = first.cells;
  return {
    header,
    *rows() {
      const tokens = new Tokenizer(text);
      tokens.next(); // the header
      for (let row = tokens.next(); row; row = tokens.next()) {
        if (row.cells.length !== header.length) {
          throw new CsvError(`line ${row.line} has ${row.cells.length} fields, the header has ${header.length}`, row.line);
        }
        for (let k = 0; k < row.cells.length; k++) row.cells[k] = restore(row.cells[k]!);
        yield row;
      }
    },
  };
}

/** The whole file as a table (small files, tests). */
export function parseCsv(bytes: Buffer): CsvTable {
  const reader = readCsv(bytes);
  return { header: reader.header, rows: [...reader.rows()] };
}
