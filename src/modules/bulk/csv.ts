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
 * most MAX_RECORD_CHARS characters; both are checked while the row is read. The file is read as it
 * comes, in pieces (CsvParser): an upload as it arrives, a stored file a part at a time; the
 * tokenizer and the decoding of the pieces are tokenizer.ts's.
 */
import { CsvError, type CsvRow, MAX_HEADER_FIELDS, MAX_RECORD_CHARS, NO_BYTES, Tokenizer, Utf8Text } from './tokenizer.js';

export { CsvError, type CsvRow, MAX_HEADER_FIELDS, MAX_RECORD_CHARS, Utf8Text } from './tokenizer.js';

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

export interface CsvTable {
  header: string[];
  rows: CsvRow[];
}

const isBlank = (cells: readonly string[]) => cells.every((c) => c === '');

/**
 * Milliseconds of work between two turns of the event loop: a step that checks the clock after
 * each small unit of work (a row, a piece of a file) gives the loop back within a few ms more.
 */
export const SLICE_MS = 4;

/**
 * The paced steps of every bulk task of this thread (uploads being read, jobs, exports, event
 * appends) take turns: one step runs per turn of the event loop, the one that has waited longest,
 * so that however many tasks run, a turn holds at most one SLICE_MS of their work besides the I/O.
 */
const waiting: (() => void)[] = [];
let turnAsked = false;
/** When the step running now began. */
let stepBegan = performance.now();

function nextStep(): void {
  turnAsked = false;
  const next = waiting.shift();
  if (waiting.length > 0) askTurn();
  stepBegan = performance.now();
  next?.();
}

function askTurn(): void {
  if (turnAsked) return;
  turnAsked = true;
  setImmediate(nextStep);
}

/** Resolves after the event loop has handled the I/O that is waiting, once the tasks that asked before have had a step. */
export const nextTurn = () =>
  new Promise<void>((resolve) => {
    waiting.push(resolve);
    askTurn();
  });

/**
 * For a long loop: what it returns is called at every step, and gives a promise that lets the
 * event loop turn once SLICE_MS have passed since this thread's current step began (await it then:
 * an await of undefined would cost a microtask a step). A loop that goes on after I/O (a query's
 * answer, an arriving piece of a file) goes on within the step under way, if any time is left.
 */
export function pacer(): () => Promise<void> | undefined {
  return () => (performance.now() - stepBegan < SLICE_MS ? undefined : nextTurn());
}

/** Characters of a file's text read (tokenized) at most per call of `CsvParser.rows`, past a record. */
const STEP_CHARS = 64 * 1024;

/**
 * A file read as it comes: its bytes are pushed in pieces of any size (`push`, then `end`), and
 * the data rows they complete are pulled (`rows`) while `ready`, between two pushes. The header is
 * the first record that is not blank, and must start within the first MAX_RECORD_CHARS
 * characters; blank records are skipped; every data row has as many cells as the header, restored
 * (see `restore`). A record is read only once the text holds the most a record may span past its
 * start, or all of the file: the rows are the same however the file is cut, and no string holds
 * more than what one push added and one record.
 */
export class CsvParser {
  header: string[] | undefined;
  readonly text = new Utf8Text();
  private window = '';
  /** Characters of the file before the window. */
  private offset = 0;
  private line = 1;
  private ended = false;
  /** All read, or a malformed record met: no more rows. */
  private done = false;

  /** Takes the next bytes of the file; throws CsvError when they are not text. */
  push(bytes: Buffer): void {
    this.window += this.text.decode(bytes);
  }

  /** No more bytes: the last rows are ready. Throws CsvError when the file is empty or ends inside a character. */
  end(): void {
    if (this.text.bytes === 0) throw new CsvError('the file is empty: a header row is expected');
    this.window += this.text.decode(NO_BYTES, true);
    this.ended = true;
  }

  /** Whether `rows` has more to read (rows, or an error). */
  get ready(): boolean {
    // A record reads at most two characters past its bound (a closing quote, then CR LF).
    return !this.done && (this.ended || this.window.length > MAX_RECORD_CHARS + 3);
  }

  /**
   * The next data rows, read as they are pulled, from at most STEP_CHARS of text (blank records
   * included); throws CsvError at a malformed one, or at the end of a file without a header.
   */
  rows(): Generator<CsvRow> {
    return this.records(false);
  }

  /** Reads as far as the header, if the text pushed holds it; true once it is known. */
  findHeader(): boolean {
    while (!this.header && this.ready) for (const _ of this.records(true));
    return this.header !== undefined;
  }

  private *records(headerOnly: boolean): Generator<CsvRow> {
    const tokens = new Tokenizer(this.window, 0, this.line);
    const final = this.ended;
    try {
      while (!tokens.done && (final || tokens.i + MAX_RECORD_CHARS + 3 < this.window.length)) {
        if (tokens.i >= STEP_CHARS || (headerOnly && this.header)) return;
        const start = this.offset + tokens.i;
        if (!this.header && start > MAX_RECORD_CHARS) throw new CsvError(`the file has no header row in its first ${MAX_RECORD_CHARS} characters`);
        if (tokens.lineBreak()) continue;
        const row = tokens.record(this.header?.length ?? MAX_HEADER_FIELDS);
        if (!this.header) {
          if (!isBlank(row.cells)) this.header = row.cells;
          continue;
        }
        if (isBlank(row.cells)) continue;
        if (row.cells.length !== this.header.length) {
          throw new CsvError(`line ${row.line} has ${row.cells.length} fields, the header has ${this.header.length}`, row.line);
        }
        for (let k = 0; k < row.cells.length; k++) row.cells[k] = restore(row.cells[k]!);
        yield row;
      }
      if (final) {
        this.done = true;
        if (!this.header) throw new CsvError('the file has no header row');
      }
    } catch (error) {
      this.done = true;
      throw error;
    } finally {
      this.offset += tokens.i;
      this.line = tokens.line;
      this.window = this.window.slice(tokens.i);
    }
  }
}

export interface CsvReader {
  header: string[];
  /**
   * The data rows, read as they are pulled (a large file is never held as a table or as one
   * string), each with as many cells as the header, restored (see `restore`). Throws CsvError at
   * a malformed row. The event loop turns every SLICE_MS of reading (the consumer's work between
   * two rows included).
   */
  rows(): AsyncGenerator<CsvRow>;
}

/**
 * Bytes of a file held in memory pushed to its parser at a time. More than 128 KiB: the text of
 * a piece, which the rows read from it keep alive (a cell is a slice of it), is then allocated
 * outside V8's young generation and never copied by its collections.
 */
export const PIECE_BYTES = 256 * 1024;

/** The bytes of a file held in parts, in pieces of at most PIECE_BYTES (cut anywhere). */
function* pieces(parts: readonly Buffer[]): Generator<Buffer> {
  for (const part of parts) for (let at = 0; at < part.length; at += PIECE_BYTES) yield part.subarray(at, at + PIECE_BYTES);
}

/** Refuses a file that is empty, not UTF-8 or holding NUL, before any of it is read as CSV (a few ms for 16 MiB). */
function checkText(parts: readonly Buffer[]): void {
  const text = new Utf8Text();
  for (const part of parts) text.check(part);
  if (text.bytes === 0) throw new CsvError('the file is empty: a header row is expected');
  text.check(NO_BYTES, true);
}

/**
 * Opens a file held in memory, whole or in parts: checks that it is UTF-8 text without NUL and
 * reads its header (spaces and a BOM ignored). Throws CsvError when it is not CSV text or has no
 * header. Its rows are decoded and read as they are pulled, PIECE_BYTES of the file at a time.
 */
export function readCsv(file: Buffer | readonly Buffer[]): CsvReader {
  const parts = Buffer.isBuffer(file) ? [file] : file;
  checkText(parts);
  const opened = new CsvParser();
  for (const piece of pieces(parts)) {
    opened.push(piece);
    if (opened.findHeader()) break;
  }
  if (!opened.header) {
    opened.end();
    opened.findHeader();
  }
  return {
    header: opened.header!,
    async *rows() {
      const parser = new CsvParser();
      const pace = pacer();
      for (const piece of [...pieces(parts), undefined]) {
        if (piece) parser.push(piece);
        else parser.end();
        while (parser.ready) {
          for (const row of parser.rows()) {
            yield row;
            const turn = pace();
            if (turn) await turn;
          }
          await pace();
        }
      }
    },
  };
}

/** The whole file as a table (small files, tests). */
export function parseCsv(bytes: Buffer): CsvTable {
  checkText([bytes]);
  const parser = new CsvParser();
  parser.push(bytes);
  parser.end();
  const rows: CsvRow[] = [];
  while (parser.ready) rows.push(...parser.rows());
  return { header: parser.header!, rows };
}
