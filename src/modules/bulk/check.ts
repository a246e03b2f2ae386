/**
 * A job's check of its stored CSV, on a worker thread (`FileCheckers`): the header matched to the
 * schema, then every row validated with the records' validation. Parsing and validating 20,000 rows
 * makes garbage in proportion; on a worker, at a lower priority, neither that work nor its
 * collections hold up the requests the main thread serves meanwhile, and a file that would take
 * more memory than MAX_HEAP_MB ends that worker, not the server.
 *
 * The worker asks the main thread once which of the file's managers name identities (a database
 * read) and answers with the checked records as JSON texts laid end to end in one buffer, moved to
 * the main thread without a copy: held until they are written, they cost its collector nothing.
 * No SQL, no HTTP.
 */
import { parentPort, Worker } from 'node:worker_threads';
import { caselessKey } from '../../domain/text.js';
import { yieldToMainThread } from '../../runtime/thread-priority.js';
import type { RecordAttribute } from '../records/validation.js';
import { columnValues, mapColumns, validateRows } from './columns.js';
import { CsvError, readCsv } from './csv.js';
import type { JobCounts, JobOutcome, RowError } from './model.js';
import { PackedTexts } from './packed.js';

/** Error lines kept per job; the count says how many there were. */
export const MAX_STORED_ERRORS = 10_000;
/** The most memory a check's worker may take for its objects. */
const MAX_HEAP_MB = 256;
/** The worker's module: plain JavaScript beside this one, that loads this one. */
const WORKER = new URL('./check-worker.js', import.meta.url);
/** How long an unused worker is kept. */
const IDLE_MS = 60_000;

const NO_COUNTS: JobCounts = { created: 0, updated: 0, unchanged: 0, failed: 0 };

export function failure(message: string, errors: readonly RowError[], failed = 0): JobOutcome {
  return { status: 'ERROR', counts: { ...NO_COUNTS, failed }, message, errors: errors.slice(0, MAX_STORED_ERRORS), errorCount: errors.length };
}

/** The records of a valid file in file order: each one's caseless accountName and JSON text. */
export class CheckedRecords {
  private readonly texts: PackedTexts;

  constructor(
    readonly keys: readonly string[],
    /** The texts, UTF-8, one after the other; text k ends at `ends[k]`. */
    readonly bytes: Buffer,
    readonly ends: Uint32Array,
  ) {
    this.texts = new PackedTexts(bytes, ends, keys.length);
  }

  get count(): number {
    return this.keys.length;
  }

  /** The JSON text of the k-th record (a NormalisedRecord). */
  text(k: number): string {
    return this.texts.at(k);
  }

  static of(texts: readonly string[], keys: readonly string[]): CheckedRecords {
    const packed = new PackedTexts();
    for (const text of texts) packed.push(text);
    return new CheckedRecords(keys, packed.bytes, packed.ends);
  }
}

/** A check's result: why the file fails, or its records and the custom attributes it has no column for. */
export type FileCheck = { outcome: JobOutcome } | { records: CheckedRecords; absent: string[] };

/** Which of these manager aliases name identities. */
export type KnownManagers = (aliases: Set<string>) => Promise<Set<string>>;

/** Checks a file against a source's attributes (on the thread that calls it). */
export async function checkFile(file: readonly Buffer[], attributes: readonly RecordAttribute[], sourceId: string, known: KnownManagers): Promise<FileCheck> {
  try {
    const reader = readCsv(file);
    const { map, problems } = mapColumns(reader.header, attributes);
    if (problems.length > 0) {
      const errors = problems.map((p) => ({ line: 1, column: null, value: null, message: p.text }));
      return { outcome: failure('The header does not match the schema of the source.', errors) };
    }
    // Two passes over the file, keeping no table: the managers it names, then the rows.
    const managers = await known((await columnValues(reader, map, 'manager')).values);
    const keys: string[] = [];
    const texts: string[] = [];
    const checked = await validateRows(reader, map, { sourceId, attributes, managers }, MAX_STORED_ERRORS, (record) => {
      keys.push(caselessKey(record.accountName));
      texts.push(JSON.stringify(record));
    });
    if (checked.errorCount > 0) {
      const outcome = failure(`${checked.failed} of ${checked.rows} rows are invalid: nothing was imported.`, checked.errors, checked.failed);
      return { outcome: { ...outcome, errorCount: checked.errorCount } };
    }
    return { records: CheckedRecords.of(texts, keys), absent: map.absent };
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    const line = error.line ?? null;
    return { outcome: failure(`The file is not CSV: ${error.message}`, [{ line, column: null, value: null, message: error.message }]) };
  }
}

interface CheckRequest {
  file: readonly Buffer[];
  attributes: readonly RecordAttribute[];
  sourceId: string;
}

/** From the main thread: a check to run, or the known managers the running one asked for. */
type ToWorker = { check: CheckRequest } | { known: string[] };
type FromWorker =
  | { managers: string[] }
  | { outcome: JobOutcome }
  | { keys: string[]; bytes: ArrayBuffer; ends: ArrayBuffer; absent: string[] }
  | { failed: string };

/**
 * The worker threads that check files, one check at a time each: started when no idle one is left,
 * kept while they are used (their compiled code stays warm), ended after IDLE_MS unused, when a
 * check on them fails, and at `close`.
 */
export class FileCheckers {
  private readonly idle = new Map<Worker, NodeJS.Timeout>();
  private readonly all = new Set<Worker>();

  async check(file: readonly Buffer[], attributes: readonly RecordAttribute[], sourceId: string, known: KnownManagers): Promise<FileCheck> {
    const worker = this.take();
    try {
      const result = await ask(worker, { file, attributes, sourceId }, known);
      this.release(worker);
      return result;
    } catch (error) {
      this.end(worker);
      throw error;
    }
  }

  /** The workers there are, busy and idle. */
  get size(): number {
    return this.all.size;
  }

  /** Ends every worker (a check running on one fails). */
  async close(): Promise<void> {
    await Promise.all([...this.all].map((worker) => this.end(worker)));
  }

  private take(): Worker {
    const [worker, timer] = this.idle.entries().next().value ?? [];
    if (worker) {
      clearTimeout(timer);
      this.idle.delete(worker);
      worker.ref();
      return worker;
    }
    const started = new Worker(WORKER, { resourceLimits: { maxOldGenerationSizeMb: MAX_HEAP_MB } });
    started.on('error', () => this.end(started));
    started.on('exit', () => this.end(started));
    this.all.add(started);
    return started;
  }

  private release(worker: Worker): void {
    if (!this.all.has(worker)) return;
    worker.unref();
    const timer = setTimeout(() => this.end(worker), IDLE_MS);
    timer.unref();
    this.idle.set(worker, timer);
  }

  private async end(worker: Worker): Promise<void> {
    clearTimeout(this.idle.get(worker));
    this.idle.delete(worker);
    if (!this.all.delete(worker)) return;
    await worker.terminate();
  }
}

/** One check on a worker; rejects when the worker fails or stops before it answers. */
function ask(worker: Worker, request: CheckRequest, known: KnownManagers): Promise<FileCheck> {
  return new Promise((resolve, reject) => {
    const done = (settle: () => void) => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      settle();
    };
    const onError = (error: Error) => done(() => reject(error));
    const onExit = (code: number) => done(() => reject(new Error(`bulk upload check: its worker stopped (exit code ${code})`)));
    const onMessage = (message: FromWorker) => {
      if ('managers' in message) {
        known(new Set(message.managers)).then(
          (aliases) => worker.postMessage({ known: [...aliases] } satisfies ToWorker),
          (error: unknown) => done(() => reject(error)),
        );
      } else if ('failed' in message) done(() => reject(new Error(`bulk upload check: ${message.failed}`)));
      else if ('outcome' in message) done(() => resolve({ outcome: message.outcome }));
      else {
        const records = new CheckedRecords(message.keys, Buffer.from(message.bytes), new Uint32Array(message.ends));
        done(() => resolve({ records, absent: message.absent }));
      }
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage({ check: request } satisfies ToWorker);
  });
}

/** The worker's side (check-worker.js calls it): runs the checks it is sent, one at a time. */
export function serveChecks(): void {
  yieldToMainThread();
  const port = parentPort!;
  let answer: ((names: string[]) => void) | undefined;
  const known: KnownManagers = (aliases) =>
    new Promise((resolve) => {
      answer = (names) => resolve(new Set(names));
      port.postMessage({ managers: [...aliases] } satisfies FromWorker);
    });
  port.on('message', (message: ToWorker) => {
    if ('known' in message) return answer?.(message.known);
    void run(message.check);
  });
  const run = async ({ file, attributes, sourceId }: CheckRequest) => {
    try {
      // Structured cloning hands Buffers over as plain Uint8Arrays.
      const parts = file.map((part) => Buffer.from(part.buffer, part.byteOffset, part.byteLength));
      const result = await checkFile(parts, attributes, sourceId, known);
      if ('outcome' in result) port.postMessage({ outcome: result.outcome } satisfies FromWorker);
      else {
        const { keys, bytes, ends } = result.records;
        const moved = [bytes.buffer as ArrayBuffer, ends.buffer as ArrayBuffer];
        port.postMessage({ keys: [...keys], bytes: moved[0]!, ends: moved[1]!, absent: result.absent } satisfies FromWorker, moved);
      }
    } catch (error) {
      port.postMessage({ failed: error instanceof Error ? error.message : String(error) } satisfies FromWorker);
    }
  };
}
