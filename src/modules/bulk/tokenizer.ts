/**
 * Reading CSV text, the parts every reader shares: the record state machine (Tokenizer), the
 * bounds of a record, and the decoding of a file's bytes, pushed in pieces, to text (Utf8Text).
 * Pure: no HTTP, no SQL. See csv.ts for the format.
 */
import { isUtf8 } from 'node:buffer';

export interface CsvRow {
  /** The line the row starts on (the header is line 1 unless empty lines precede it). */
  line: number;
  cells: string[];
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

/**
 * The file's records, one at a time: a small state machine rather than a library, several times
 * faster than csv-parse on large files, and it knows the line every record starts on. Fields
 * are trimmed of spaces and tabs around them. A record longer than MAX_RECORD_CHARS or with more
 * fields than `maxFields` is refused as soon as the bound is passed, so a hostile record costs no
 * more than a valid one.
 */
export class Tokenizer {
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

  /** Passes a line break (CR, LF or CR LF) at the current character: a blank record; false when there is none. */
  lineBreak(): boolean {
    const c = this.text.charCodeAt(this.i);
    if (c !== 10 && c !== 13) return false;
    this.i += c === 13 && this.text.charCodeAt(this.i + 1) === 10 ? 2 : 1;
    this.line++;
    return true;
  }

  /** The next record, blank or not (call while not `done`). */
  record(maxFields: number): CsvRow {
    const { text, n } = this;
    const line = this.line;
    const limit = this.i + MAX_RECORD_CHARS;
    const cells: string[] = [];
    for (;;) {
      this.skipBlanks(limit);
      if (this.i > limit) throw tooLong(line);
      let value: string;
      if (text.charCodeAt(this.i) === 34) {
        // Quoted: up to the next lone quote; "" is one quote.
        value = '';
        let from = ++this.i;
        for (;;) {
          const q = text.indexOf('"', this.i);
          if (q > limit || (q < 0 && n > limit)) throw tooLong(line);
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
        if (this.i > limit) throw tooLong(line);
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
        if (end > limit) throw tooLong(line);
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

const tooLong = (line: number) => new CsvError(`line ${line} is longer than ${MAX_RECORD_CHARS} characters, the most a row may have`, line);

const fieldBound = (maxFields: number) =>
  maxFields === MAX_HEADER_FIELDS ? `the most a header may have (a source has at most 18 attributes)` : `the header has ${maxFields}`;

export const NO_BYTES = Buffer.alloc(0);

/** How much of `bytes` holds whole characters: all of it, unless it ends inside a multi-byte character. */
function wholeCharacters(bytes: Buffer): number {
  for (let k = bytes.length - 1; k >= 0 && k >= bytes.length - 3; k--) {
    const b = bytes[k]!;
    if (b < 0x80) break;
    if (b >= 0xc0) return k + (b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2) > bytes.length ? k : bytes.length;
  }
  return bytes.length;
}

/**
 * A file's bytes, pushed in pieces of any size and in order, checked to be UTF-8 text without NUL
 * and decoded: a character cut between two pieces is decoded with the second; a BOM at the start
 * is dropped. Throws CsvError at the first piece that is not text.
 */
export class Utf8Text {
  /** The bytes pushed so far. */
  bytes = 0;
  private carry: Buffer | undefined;
  private started = false;

  /** The text of the characters `bytes` completes; with `final` (no more bytes to come), of all that is left. */
  decode(bytes: Buffer, final = false): string {
    const whole = this.take(bytes, final);
    let from = 0;
    if (!this.started && whole.length > 0) {
      this.started = true;
      if (whole[0] === 0xef && whole[1] === 0xbb && whole[2] === 0xbf) from = 3;
    }
    return whole.toString('utf8', from);
  }

  /** As `decode`, for bytes whose text is not wanted. */
  check(bytes: Buffer, final = false): void {
    this.take(bytes, final);
  }

  private take(bytes: Buffer, final: boolean): Buffer {
    this.bytes += bytes.length;
    let whole = this.carry ? Buffer.concat([this.carry, bytes]) : bytes;
    this.carry = undefined;
    const end = final ? whole.length : wholeCharacters(whole);
    if (end < whole.length) {
      this.carry = Buffer.from(whole.subarray(end));
      whole = whole.subarray(0, end);
    }
    if (!isUtf8(whole) || whole.includes(0)) throw new CsvError('the file is not UTF-8 text');
    return whole;
  }
}
