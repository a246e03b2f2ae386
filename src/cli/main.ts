/**
 * The `nelm` command line: serve, migrate, and the directory (identities, API clients, signing
 * keys) straight on the configured database. Exit codes: 0 success, 1 failure, 2 usage error.
 */
import { parseArgs } from 'node:util';
import { loadConfig, ConfigError, type Config } from '../config/config.js';
import { openDatabase } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';
import { createCore } from '../services.js';
import { startServer } from '../server.js';
import { ApiError } from '../errors/api-error.js';
import { isRight, type Right } from '../auth/principal.js';
import { IMPORT_EXPORT_USAGE, runImportExport } from './import-export.js';

const USAGE = `Usage: nelm <command> [options]

Commands:
  serve                                   start the HTTP server (PORT, HOST, DATABASE_URL, …)
  migrate                                 apply the database migrations
  identities add --alias A [--name N] [--email E] [--admin | --rights idn:nesr:read,…]
                                          create an identity; prints it as JSON
  identities list                         list identities as JSON
  clients add --identity ALIAS            create an API client; prints {"clientId","clientSecret"}
  keys rotate                             start signing with a new key (old tokens stay valid)
  keys prune                              delete keys retired longer ago than a token lives
${IMPORT_EXPORT_USAGE}

Configuration comes from the environment: see docs/configuration.md.`;

class UsageError extends Error {}

async function withCore<T>(config: Config, work: (core: Awaited<ReturnType<typeof createCore>>) => Promise<T>): Promise<T> {
  const db = await openDatabase(config);
  try {
    return await work(await createCore(config, db));
  } finally {
    await db.close();
  }
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  // Clients of a running server: no database, no server configuration (exit codes: import-export.ts).
  if (command === 'import' || command === 'export') return runImportExport(command, argv.slice(1));
  const config = loadConfig();

  switch (command) {
    case 'serve':
      await startServer(config);
      return -1; // keep running
    case 'migrate': {
      const db = await openDatabase(config);
      try {
        const applied = await migrateToLatest(db.kysely, db.engine, db.schema);
        process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'The database is up to date.\n');
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'identities': {
      if (sub === 'list') {
        await withCore(config, async ({ services }) => print(await services.directory.listIdentities(config.tenant, 10_000, 0)));
        return 0;
      }
      if (sub !== 'add') throw new UsageError('identities takes add or list');
      const { values } = parseArgs({
        args: rest,
        options: { alias: { type: 'string' }, name: { type: 'string' }, email: { type: 'string' }, admin: { type: 'boolean' }, rights: { type: 'string' } },
        strict: true,
      });
      if (!values.alias) throw new UsageError('identities add needs --alias');
      if (values.admin && values.rights) throw new UsageError('--admin and --rights exclude each other');
      const rights = (values.rights ?? '')
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean);
      const bad = rights.filter((r) => !isRight(r));
      if (bad.length) throw new UsageError(`unknown rights: ${bad.join(', ')}`);
      await withCore(config, async ({ services }) =>
        print(
          await services.directory.createIdentity(config.tenant, {
            alias: values.alias!,
            name: values.name,
            email: values.email,
            admin: values.admin ?? false,
            rights: rights as Right[],
          }),
        ),
      );
      return 0;
    }
    case 'clients': {
      if (sub !== 'add') throw new UsageError('clients takes add');
      const { values } = parseArgs({ args: rest, options: { identity: { type: 'string' } }, strict: true });
      if (!values.identity) throw new UsageError('clients add needs --identity ALIAS');
      await withCore(config, async ({ services }) => {
        const identity = await services.directory.identityByAlias(config.tenant, values.identity!);
        if (!identity) throw new ApiError('404 Not found', `No identity with alias "${values.identity}".`);
        print(await services.directory.createClient(config.tenant, identity.id));
      });
      return 0;
    }
    case 'keys': {
      if (sub === 'rotate') {
        await withCore(config, async ({ services }) => print({ kid: await services.tokens.rotate() }));
        return 0;
      }
      if (sub === 'prune') {
        await withCore(config, async ({ services }) => print({ deleted: await services.tokens.prune() }));
        return 0;
      }
      throw new UsageError('keys takes rotate or prune');
    }
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`nelm: ${(error as Error).message}\n\n${USAGE}\n`);
      process.exitCode = 2;
    } else if (error instanceof ConfigError) {
      process.stderr.write(`nelm: ${error.message}\n`);
      process.exitCode = 2;
    } else if (error instanceof ApiError) {
      process.stderr.write(`nelm: ${error.text}${error.causes.length ? ` (${error.causes.map((c) => c.text).join('; ')})` : ''}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`nelm: ${(error as Error).message ?? String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
