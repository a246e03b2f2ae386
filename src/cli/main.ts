/**
 * The `nelm` command line: serve, migrate, and the directory (identities, API clients, signing
 * keys) straight on the configured database; import and export as clients of a running server.
 * Every command takes --help. Exit codes: 0 success, 1 failure, 2 usage error (import and export
 * have more: import-export.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isRight, type Right } from '../auth/principal.js';
import { type Config, ConfigError, INSTALL_DIR, loadConfig } from '../config/config.js';
import type { Db } from '../db/dialect.js';
import { migrateToLatest } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { ApiError } from '../errors/api-error.js';
import { KEY_FILE_CREATED, startServer } from '../server.js';
import { type Core, createCore } from '../services.js';
import { BACKUP_USAGE, runBackupCommand } from './backup.js';
import { IMPORT_EXPORT_USAGE, runImportExport } from './import-export.js';

const COMMANDS: Record<string, string> = {
  serve: `serve                                   start the HTTP server (PORT, HOST, DATABASE_URL, …: docs/configuration.md)`,
  migrate: `migrate                                 create the database, or apply the migrations it lacks`,
  identities: `identities add --alias A [--name N] [--email E] [--admin | --rights idn:nesr:read,…]
                                          create an identity; prints it as JSON
  identities list                         list identities as JSON
  identities set-password --alias A       set the identity's password, read from standard input (a
                                          prompt without echo on a terminal); ends its console sessions`,
  clients: `clients add --identity ALIAS            create an API client; prints {"clientId","clientSecret"} (shown once)`,
  keys: `keys rotate                             start signing tokens with a new key (older tokens stay valid)
  keys prune                              delete keys retired longer ago than a token lives`,
  audit: `audit list [--type T] [--target ID] [--since ISO] [--limit N]
                                          print events, one a line: the latest N (100), or the first N
                                          since a time; a type ending in * matches as a prefix
  audit verify                            recompute the audit log's hash chain; exits 1 naming the first
                                          event that does not match`,
  backup: BACKUP_USAGE.split('\n').slice(0, 2).join('\n'),
  restore: BACKUP_USAGE.split('\n').slice(2).join('\n').trimStart(),
  import: IMPORT_EXPORT_USAGE.split('\n').slice(0, 2).join('\n'),
  export: IMPORT_EXPORT_USAGE.split('\n').slice(2).join('\n'),
};

const USAGE = `Usage: nelm <command> [options]   (nelm <command> --help for one command)

Commands:
${Object.values(COMMANDS)
  .map((text) => `  ${text}`)
  .join('\n')}

Options: --help, --version.
The database is DATABASE_URL's; without it, the SQLite file data/nelm.sqlite of this checkout
(${path.join(INSTALL_DIR, 'data', 'nelm.sqlite')}), whatever directory the command runs in.
Configuration comes from the environment: see docs/configuration.md.`;

class UsageError extends Error {}

function version(): string {
  return (JSON.parse(readFileSync(path.join(INSTALL_DIR, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Opens the configured database for a command and says which it is, on standard error. */
async function open(config: Config, mustExist: boolean): Promise<Db> {
  const db = await openDatabase(config, { mustExist });
  process.stderr.write(`nelm: database: ${db.description}\n`);
  return db;
}

/** Runs `work` on the services over the configured database, which must exist already. */
async function withCore<T>(config: Config, work: (core: Core) => Promise<T>): Promise<T> {
  const db = await open(config, true);
  try {
    const core = await createCore(config, db);
    const keyFile = core.services.tokens.keyRing.createdFile;
    if (keyFile) process.stderr.write(`nelm: ${KEY_FILE_CREATED} ${keyFile}\n`);
    return await work(core);
  } finally {
    await db.close();
  }
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function rightsOf(text: string | undefined): Right[] {
  const rights = (text ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const bad = rights.filter((r) => !isRight(r));
  if (bad.length > 0) throw new UsageError(`unknown rights: ${bad.join(', ')}`);
  return rights as Right[];
}

/**
 * A password from standard input: typed at a prompt without echo on a terminal, else the input's
 * first line (its line ending left out).
 */
async function readPassword(): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of input) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  }
  process.stderr.write('Password: ');
  input.setRawMode(true);
  input.resume();
  input.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let typed = '';
    const onData = (text: string) => {
      for (const c of text) {
        if (c === '\r' || c === '\n' || c === '\u0004') {
          input.setRawMode(false);
          input.pause();
          input.off('data', onData);
          process.stderr.write('\n');
          return resolve(typed);
        }
        if (c === '\u0003') {
          input.setRawMode(false);
          return reject(new UsageError('cancelled'));
        }
        typed = c === '\u007f' || c === '\b' ? [...typed].slice(0, -1).join('') : typed + c;
      }
    };
    input.on('data', onData);
  });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (!Object.hasOwn(COMMANDS, command)) throw new UsageError(`unknown command '${command}'`);
  // Clients of a running server: no database, no server configuration (exit codes: import-export.ts).
  if (command === 'import' || command === 'export') return runImportExport(command, args);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`Usage: nelm ${COMMANDS[command]}\n`);
    return 0;
  }
  const [sub, ...rest] = args;
  const config = loadConfig();

  switch (command) {
    case 'serve':
      if (args.length > 0) throw new UsageError('serve takes no arguments');
      await startServer(config);
      return -1; // keeps running
    case 'migrate': {
      if (args.length > 0) throw new UsageError('migrate takes no arguments');
      const db = await open(config, false);
      try {
        const applied = await migrateToLatest(db.kysely, db.engine, db.schema);
        process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'The database is up to date.\n');
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'backup':
    case 'restore':
      return runBackupCommand(command, args, config, (text) => new UsageError(text));
    case 'identities': {
      if (sub === 'list' && rest.length === 0) {
        await withCore(config, async ({ services }) => print(await services.directory.listIdentities(config.tenant, 10_000, 0)));
        return 0;
      }
      if (sub === 'set-password') {
        const { values } = parseArgs({ args: rest, options: { alias: { type: 'string' } }, strict: true });
        if (!values.alias) throw new UsageError('identities set-password needs --alias');
        const password = await readPassword();
        await withCore(config, async ({ services }) => {
          const identity = await services.directory.identityByAlias(config.tenant, values.alias!);
          if (!identity) throw new ApiError('404 Not found', `No identity with alias "${values.alias}".`);
          await services.sessions.setPassword(config.tenant, identity.id, password, null);
          process.stderr.write(`nelm: the password of ${identity.alias} is set\n`);
        });
        return 0;
      }
      if (sub !== 'add') throw new UsageError('identities takes add, list or set-password');
      const { values } = parseArgs({
        args: rest,
        options: { alias: { type: 'string' }, name: { type: 'string' }, email: { type: 'string' }, admin: { type: 'boolean' }, rights: { type: 'string' } },
        strict: true,
      });
      if (!values.alias) throw new UsageError('identities add needs --alias');
      if (values.admin && values.rights) throw new UsageError('--admin and --rights exclude each other');
      const identity = { alias: values.alias, name: values.name, email: values.email, admin: values.admin ?? false, rights: rightsOf(values.rights) };
      await withCore(config, async ({ services }) => print(await services.directory.createIdentity(config.tenant, identity, null)));
      return 0;
    }
    case 'clients': {
      if (sub !== 'add') throw new UsageError('clients takes add');
      const { values } = parseArgs({ args: rest, options: { identity: { type: 'string' } }, strict: true });
      if (!values.identity) throw new UsageError('clients add needs --identity ALIAS');
      await withCore(config, async ({ services }) => {
        const identity = await services.directory.identityByAlias(config.tenant, values.identity!);
        if (!identity) throw new ApiError('404 Not found', `No identity with alias "${values.identity}".`);
        print(await services.directory.createClient(config.tenant, identity.id, null));
      });
      return 0;
    }
    case 'keys': {
      if (rest.length > 0 || (sub !== 'rotate' && sub !== 'prune')) throw new UsageError('keys takes rotate or prune');
      await withCore(config, async ({ services }) =>
        print(sub === 'rotate' ? { kid: await services.tokens.rotate() } : { deleted: await services.tokens.prune() }),
      );
      return 0;
    }
    case 'audit': {
      if (sub === 'verify' && rest.length === 0) {
        const result = await withCore(config, ({ services }) => services.events.verify(config.tenant));
        if (result.ok) {
          process.stdout.write(`ok: ${result.count} events verified; head: event ${result.headSeq}, hash ${result.headHash}\n`);
          return 0;
        }
        const which = result.id ? `event ${result.seq} (${result.id})` : `event ${result.seq}`;
        process.stdout.write(`${which} does not match: ${result.reason} (${result.count} events verified before it)\n`);
        return 1;
      }
      if (sub !== 'list') throw new UsageError('audit takes list or verify');
      const { values } = parseArgs({
        args: rest,
        options: { type: { type: 'string' }, target: { type: 'string' }, since: { type: 'string' }, limit: { type: 'string' } },
        strict: true,
      });
      const limit = Number(values.limit ?? 100);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError('--limit must be a whole number from 1 to 10000');
      const quoted = (value: string) => `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
      const type = values.type?.endsWith('*') ? `type sw ${quoted(values.type.slice(0, -1))}` : values.type && `type eq ${quoted(values.type)}`;
      const target = values.target && `targetId eq ${quoted(values.target)}`;
      const since = values.since && `time ge ${quoted(values.since)}`;
      const filters = [type, target, since].filter(Boolean).join(' and ') || undefined;
      const sorters = since ? 'time' : '-time';
      const { events } = await withCore(config, ({ services }) => services.events.list(config.tenant, { filters, sorters, limit, offset: 0, count: false }));
      for (const e of since ? events : events.reverse()) {
        const source = e.target.sourceId && e.target.sourceId !== e.target.id ? ` (source ${e.target.sourceId})` : '';
        process.stdout.write(`${e.time}  ${e.seq}  ${e.type}  ${e.actor?.alias ?? '(system)'}  ${e.target.type} ${e.target.id}${source}  ${e.id}\n`);
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

/** An ApiError as one line: its text, and its causes where they say more. */
function apiErrorText(error: ApiError): string {
  const more = error.causes.map((c) => c.text).filter((text) => !error.text.includes(text));
  return more.length > 0 ? `${error.text} (${more.join('; ')})` : error.text;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const text = error instanceof ApiError ? apiErrorText(error) : ((error as Error).message ?? String(error));
    process.stderr.write(`nelm: ${text}\n${usage ? `\n${USAGE}\n` : ''}`);
    process.exitCode = usage || error instanceof ConfigError ? 2 : 1;
  },
);
