/**
 * `nelm import --source ID FILE` and `nelm export --source ID [FILE]`: the bulk CSV endpoints of a
 * running server, over HTTP like any client. The server and the credentials come from flags or
 * from the variables the official SDK reads: SAIL_BASE_URL, SAIL_CLIENT_ID, SAIL_CLIENT_SECRET
 * (and SAIL_TOKEN_URL, default `<base>/oauth/token`).
 *
 * Standard output carries the result (import: the finished job as JSON; export without FILE: the
 * CSV); progress and messages go to standard error: a progress bar on a terminal, plain lines
 * otherwise. Exit codes (EXIT below): 0 done, 1 failure (network, server error), 2 usage, 3 the
 * server refused the request (400, 401, 403, 404), 4 the import job ended in ERROR (nothing was
 * imported), 5 gave up waiting for the job (it goes on).
 */
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';

export const EXIT = { ok: 0, failure: 1, usage: 2, refused: 3, jobError: 4, timeout: 5 } as const;

export const IMPORT_EXPORT_USAGE = `  import --source ID FILE [--errors ERRORS.csv] [--no-wait] [--timeout SECONDS]
                                          upload FILE to a running server and wait for its job
  export --source ID [FILE]               download a source's records as CSV (stdout without FILE)
      both take --base-url URL --client-id ID --client-secret SECRET [--token-url URL], or
      SAIL_BASE_URL, SAIL_CLIENT_ID, SAIL_CLIENT_SECRET [SAIL_TOKEN_URL]`;

class CliError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

interface Job {
  id: string;
  status: string;
  rows?: number;
  counts?: { created: number; updated: number; unchanged: number; failed: number };
  errorCount?: number;
  message?: string | null;
}

interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream | NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

const OPTIONS = {
  source: { type: 'string' },
  'base-url': { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
  'token-url': { type: 'string' },
  errors: { type: 'string' },
  'no-wait': { type: 'boolean' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Progress on standard error: one redrawn line on a terminal, milestone lines otherwise. */
class Progress {
  private readonly tty: boolean;
  private drawn = false;
  private lastDraw = 0;

  constructor(private readonly out: NodeJS.WritableStream & { isTTY?: boolean }) {
    this.tty = out.isTTY === true;
  }

  private draw(text: string, force = false): void {
    if (!this.tty || (!force && Date.now() - this.lastDraw < 80)) return;
    this.lastDraw = Date.now();
    this.out.write(`\r${text}\x1b[K`);
    this.drawn = true;
  }

  bar(label: string, done: number, total: number): void {
    const fraction = total > 0 ? Math.min(done / total, 1) : 1;
    const fill = Math.round(fraction * 30);
    this.draw(`${label} [${'#'.repeat(fill)}${'.'.repeat(30 - fill)}] ${Math.round(fraction * 100)}%`, done >= total);
  }

  spin(text: string, elapsedMs: number): void {
    this.draw(`${'|/-\\'[Math.floor(elapsedMs / 250) % 4]} ${text} (${Math.round(elapsedMs / 1000)} s)`);
  }

  count(label: string, text: string): void {
    this.draw(`${label}: ${text}`);
  }

  clear(): void {
    if (!this.drawn) return;
    this.out.write('\r\x1b[K');
    this.drawn = false;
  }

  line(text: string): void {
    this.clear();
    this.out.write(`${text}\n`);
  }
}

/** The server's error body as lines: its message, then one line per cause. */
function describe(status: number, text: string): string {
  try {
    const body = JSON.parse(text) as { messages?: { text: string }[]; causes?: { text: string }[]; error?: string; message?: string };
    const lines = [...(body.messages ?? []).map((m) => m.text), ...(body.causes ?? []).map((c) => `  - ${c.text}`)];
    if (body.error) lines.push(body.error);
    if (body.message) lines.push(body.message);
    if (lines.length > 0) return `${status}: ${[...new Set(lines)].join('\n')}`;
  } catch {
    // not JSON
  }
  return `${status}: ${text.slice(0, 500)}`;
}

class Client {
  private token = '';

  constructor(
    readonly base: string,
    private readonly credentials: { clientId: string; clientSecret: string; tokenUrl: string },
  ) {}

  async login(): Promise<void> {
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: this.credentials.clientId, client_secret: this.credentials.clientSecret });
    const response = await this.send(this.credentials.tokenUrl, { method: 'POST', body });
    const text = await response.text();
    if (response.status !== 200)
      throw new CliError(`the token request was refused: ${describe(response.status, text)}`, response.status < 500 ? EXIT.refused : EXIT.failure);
    this.token = (JSON.parse(text) as { access_token: string }).access_token;
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, init);
    } catch (error) {
      throw new CliError(`cannot reach ${url}: ${(error as { cause?: Error }).cause?.message ?? (error as Error).message}`, EXIT.failure);
    }
  }

  /** A request to the API; a non-2xx answer becomes a CliError (4xx: refused, else failure). */
  async call(pathname: string, init: RequestInit & { duplex?: 'half' } = {}): Promise<Response> {
    const response = await this.send(`${this.base}${pathname}`, { ...init, headers: { ...init.headers, authorization: `Bearer ${this.token}` } });
    if (response.status >= 200 && response.status < 300) return response;
    const text = await response.text();
    throw new CliError(
      `${init.method ?? 'GET'} ${pathname} → ${describe(response.status, text)}`,
      response.status >= 400 && response.status < 500 ? EXIT.refused : EXIT.failure,
    );
  }
}

function connect(values: { [K in keyof typeof OPTIONS]?: string | boolean }, env: NodeJS.ProcessEnv): Client {
  const pick = (flag: keyof typeof OPTIONS, variable: string) => (values[flag] as string | undefined) ?? env[variable];
  const base = pick('base-url', 'SAIL_BASE_URL')?.replace(/\/+$/, '');
  const clientId = pick('client-id', 'SAIL_CLIENT_ID');
  const clientSecret = pick('client-secret', 'SAIL_CLIENT_SECRET');
  const missing = [
    !base && '--base-url (SAIL_BASE_URL)',
    !clientId && '--client-id (SAIL_CLIENT_ID)',
    !clientSecret && '--client-secret (SAIL_CLIENT_SECRET)',
  ].filter(Boolean);
  if (missing.length > 0) throw new CliError(`missing ${missing.join(', ')}`, EXIT.usage);
  const tokenUrl = pick('token-url', 'SAIL_TOKEN_URL') ?? `${base}/oauth/token`;
  return new Client(base!, { clientId: clientId!, clientSecret: clientSecret!, tokenUrl });
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const sourcePath = (id: string) => `/v2024/non-employee-sources/${encodeURIComponent(id)}`;

/** The file as a multipart/form-data body with one part `data`, streamed so progress can be shown. */
function multipart(file: Buffer, fileName: string, onSent: (bytes: number) => void): { body: ReadableStream<Uint8Array>; type: string; length: number } {
  const boundary = `----nelm${randomBytes(12).toString('hex')}`;
  const safeName = fileName.replace(/["\r\n\\]/g, '_');
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="data"; filename="${safeName}"\r\nContent-Type: text/csv\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const chunks: Uint8Array[] = [head];
  for (let i = 0; i < file.length; i += 64 * 1024) chunks.push(file.subarray(i, i + 64 * 1024));
  chunks.push(tail);
  let sent = 0;
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[next++];
      if (!chunk) return controller.close();
      sent += chunk.length;
      onSent(sent);
      controller.enqueue(chunk);
    },
  });
  return { body, type: `multipart/form-data; boundary=${boundary}`, length: head.length + file.length + tail.length };
}

async function runImport(values: { [K in keyof typeof OPTIONS]?: string | boolean }, positionals: string[], io: Io, progress: Progress): Promise<number> {
  const source = values.source as string | undefined;
  if (!source || positionals.length !== 1) throw new CliError('usage: nelm import --source ID FILE', EXIT.usage);
  const timeoutSeconds = values.timeout === undefined ? 600 : Number(values.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new CliError('--timeout takes a number of seconds', EXIT.usage);
  const fileName = positionals[0]!;
  const file = await readFile(fileName).catch((error: Error) => {
    throw new CliError(`cannot read ${fileName}: ${error.message}`, EXIT.usage);
  });
  const client = connect(values, io.env);
  await client.login();

  progress.line(`uploading ${path.basename(fileName)} (${mib(file.length)}) to source ${source}`);
  const upload = multipart(file, path.basename(fileName), (sent) => progress.bar('uploading', sent, file.length));
  const response = await client.call(`${sourcePath(source)}/non-employee-bulk-upload`, {
    method: 'POST',
    headers: { 'content-type': upload.type, 'content-length': String(upload.length) },
    body: upload.body,
    duplex: 'half',
  });
  let job = (await response.json()) as Job;
  progress.line(`job ${job.id} accepted (${job.status})`);
  if (values['no-wait']) {
    io.stdout.write(`${JSON.stringify(job)}\n`);
    return EXIT.ok;
  }

  const started = Date.now();
  let last = job.status;
  while (job.status === 'PENDING' || job.status === 'IN_PROGRESS') {
    if (Date.now() - started > timeoutSeconds * 1000) {
      io.stdout.write(`${JSON.stringify(job)}\n`);
      throw new CliError(`gave up waiting after ${timeoutSeconds} s; job ${job.id} is ${job.status} and goes on`, EXIT.timeout);
    }
    progress.spin(`job ${job.id} ${job.status.toLowerCase().replace('_', ' ')}`, Date.now() - started);
    await new Promise((r) => setTimeout(r, 250));
    job = (await (await client.call(`${sourcePath(source)}/non-employee-bulk-upload/jobs/${job.id}`)).json()) as Job;
    if (job.status !== last) progress.line(`job ${job.id} ${job.status}`);
    last = job.status;
  }
  io.stdout.write(`${JSON.stringify(job)}\n`);
  const c = job.counts;
  if (job.status === 'COMPLETED') {
    progress.line(`imported ${job.rows ?? '?'} rows: ${c?.created ?? 0} created, ${c?.updated ?? 0} updated, ${c?.unchanged ?? 0} unchanged`);
    return EXIT.ok;
  }
  const errors = await (await client.call(`${sourcePath(source)}/non-employee-bulk-upload/jobs/${job.id}/errors`)).text();
  progress.line(`job ${job.id} ended ${job.status}: ${job.message ?? ''} Nothing was imported.`);
  if (typeof values.errors === 'string') {
    await writeAtomically(values.errors, Readable.from([errors]));
    progress.line(`${job.errorCount ?? '?'} problems written to ${values.errors}`);
  } else {
    const lines = errors.split('\n').filter(Boolean);
    for (const line of lines.slice(0, 21)) progress.line(`  ${line}`);
    if (lines.length > 21) progress.line(`  … ${lines.length - 21} more (--errors FILE writes them all)`);
  }
  return EXIT.jobError;
}

/** Writes FILE.partial, then renames it: FILE appears only complete. */
async function writeAtomically(file: string, data: Readable): Promise<void> {
  const partial = `${file}.partial`;
  try {
    await pipeline(data, createWriteStream(partial));
    await rename(partial, file);
  } catch (error) {
    await rm(partial, { force: true });
    throw error instanceof CliError ? error : new CliError(`cannot write ${file}: ${(error as Error).message}`, EXIT.failure);
  }
}

async function runExport(values: { [K in keyof typeof OPTIONS]?: string | boolean }, positionals: string[], io: Io, progress: Progress): Promise<number> {
  const source = values.source as string | undefined;
  if (!source || positionals.length > 1) throw new CliError('usage: nelm export --source ID [FILE]', EXIT.usage);
  const client = connect(values, io.env);
  await client.login();
  const response = await client.call(`${sourcePath(source)}/non-employees/download`, { headers: { accept: 'text/csv' } });
  let bytes = 0;
  let rows = -1;
  const counted = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>).map((chunk: Buffer) => {
    bytes += chunk.length;
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) rows++;
    progress.count('exporting', `${Math.max(rows, 0)} rows, ${mib(bytes)}`);
    return chunk;
  });
  const target = positionals[0];
  if (target) await writeAtomically(target, counted);
  else await pipeline(counted, io.stdout, { end: false });
  progress.line(`exported ${Math.max(rows, 0)} records of source ${source}${target ? ` to ${target}` : ''}`);
  return EXIT.ok;
}

/** Runs `nelm import …` or `nelm export …`; resolves with the exit code. */
export async function runImportExport(
  command: 'import' | 'export',
  argv: string[],
  io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  const progress = new Progress(io.stderr);
  try {
    let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (error) {
      throw new CliError((error as Error).message, EXIT.usage);
    }
    if (parsed.values.help) {
      io.stdout.write(`Usage: nelm ${command} …\n\n${IMPORT_EXPORT_USAGE}\n`);
      return EXIT.ok;
    }
    const run = command === 'import' ? runImport : runExport;
    return await run(parsed.values, parsed.positionals, io, progress);
  } catch (error) {
    progress.clear();
    const code = error instanceof CliError ? error.code : EXIT.failure;
    io.stderr.write(`nelm ${command}: ${(error as Error).message}\n${code === EXIT.usage ? `\n${IMPORT_EXPORT_USAGE}\n` : ''}`);
    return code;
  }
}
