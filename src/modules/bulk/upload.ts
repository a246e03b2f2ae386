/**
 * An uploaded file as it arrives: the pieces the network delivers are copied into the parts the
 * file is stored in (FILE_PART bytes), and each part is read as CSV as soon as it is full, so that
 * the upload check is done, a part at a time, by the time the last byte is in. Pure: no HTTP, no
 * SQL.
 *
 * The check is the one `readCsv` makes: UTF-8 text without NUL, a header, well-formed rows with as
 * many fields as the header, each row bounded while it is read; it counts the rows and collects
 * the accountNames (caselessly). A file refused midway is no longer kept or read as CSV: the rest
 * of it is only checked to be text (a file that is not text anywhere is refused as such, as
 * `readCsv` does), so a hostile file costs little more than its bytes cost to arrive. The event
 * loop turns every SLICE_MS of this work.
 */
import { caselessKey } from '../../domain/text.js';
import { CsvError, CsvParser, type CsvRow, pacer } from './csv.js';
import { FILE_PART } from './repository.js';

const NO_BYTES = Buffer.alloc(0);

/** What an upload check found in a well-formed file. */
export interface FileScan {
  header: string[];
  /** Data rows. */
  rows: number;
  /** The caseless keys (`caselessKey`) of the values, trimmed and not empty, of the column named accountName (in any case). */
  accountKeys: Set<string>;
}

export class ReceivedFile {
  /** The file in parts of FILE_PART bytes (the last one shorter); none once the file is refused. */
  readonly parts: Buffer[] = [];
  /** The bytes received. */
  size = 0;
  private readonly parser = new CsvParser();
  private readonly pace = pacer();
  private failure: CsvError | undefined;
  /** Refused as not text (or empty): nothing more is read. */
  private notText = false;
  private rows = 0;
  private readonly accountKeys = new Set<string>();
  private accountColumn: number | undefined;
  /** The part being filled, and how much of it is. */
  private last: Buffer | undefined;
  private filled = 0;
  private ended = false;

  /** Takes the next bytes of the file. */
  async push(bytes: Buffer): Promise<void> {
    this.size += bytes.length;
    let at = 0;
    while (at < bytes.length && !this.failure) {
      if (!this.last) {
        this.last = Buffer.allocUnsafe(FILE_PART);
        this.filled = 0;
      }
      const n = bytes.copy(this.last, this.filled, at);
      at += n;
      this.filled += n;
      if (this.filled === FILE_PART) {
        const part = this.last;
        this.last = undefined;
        this.parts.push(part);
        await this.read(part);
      }
    }
    if (at < bytes.length) this.checkText(bytes.subarray(at), false);
    await this.pace();
  }

  /** The file is all there. */
  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.last && !this.failure) {
      const part = this.last.subarray(0, this.filled);
      this.parts.push(part);
      await this.read(part);
    }
    this.last = undefined;
    if (this.failure) this.checkText(NO_BYTES, true);
    else await this.read(undefined);
  }

  /** What the check found, once the file has ended; throws the CsvError that refuses the file. */
  scan(): FileScan {
    if (!this.ended) throw new Error('the file has not ended');
    if (this.failure) throw this.failure;
    return { header: this.parser.header!, rows: this.rows, accountKeys: this.accountKeys };
  }

  /** Reads the rows a part completes (undefined: the end of the file). */
  private async read(part: Buffer | undefined): Promise<void> {
    const { parser } = this;
    try {
      if (part) parser.push(part);
      else parser.end();
    } catch (error) {
      this.notText = true;
      return this.refuse(error);
    }
    try {
      while (parser.ready) {
        for (const row of parser.rows()) this.count(row);
        await this.pace();
      }
    } catch (error) {
      this.refuse(error);
    }
  }

  /** Refused already: only "not text" would still be reported instead. */
  private checkText(bytes: Buffer, final: boolean): void {
    if (this.notText) return;
    try {
      this.parser.text.check(bytes, final);
    } catch (error) {
      this.notText = true;
      this.refuse(error);
    }
  }

  private refuse(error: unknown): void {
    if (!(error instanceof CsvError)) throw error;
    this.failure = error;
    this.parts.length = 0;
    this.last = undefined;
  }

  private count(row: CsvRow): void {
    this.rows++;
    this.accountColumn ??= this.parser.header!.findIndex((cell) => cell.trim().toLowerCase() === 'accountname');
    if (this.accountColumn < 0) return;
    const value = row.cells[this.accountColumn]!.trim();
    if (value !== '') this.accountKeys.add(caselessKey(value));
  }
}

/** Characters of a text field turned into bytes at a time. */
const PIECE_CHARS = 64 * 1024;

/**
 * A form's text field as a file: the sender turned its line breaks into CRLF (the HTML form
 * encoding, which the SDK's FormData applies to a string), so CRLF and CR are read as LF, inside
 * values too. Taken in pieces, never cutting CR LF or a surrogate pair.
 */
export async function receiveText(value: string, file: ReceivedFile): Promise<void> {
  for (let at = 0; at < value.length; ) {
    let end = Math.min(value.length, at + PIECE_CHARS);
    if (end < value.length) {
      const last = value.charCodeAt(end - 1);
      if (last === 13 || (last >= 0xd800 && last <= 0xdbff)) end--;
    }
    await file.push(Buffer.from(value.slice(at, end).replace(/\r\n?/g, '\n')));
    at = end;
  }
  await file.end();
}

/** Reads a file part's stream into `file`. */
export async function receiveStream(stream: AsyncIterable<Buffer>, file: ReceivedFile): Promise<void> {
  for await (const chunk of stream) await file.push(chunk);
  await file.end();
}
