/**
 * The domain services wired to their repositories over one database. The HTTP app and the CLI
 * both build them here.
 */
import type { Config } from './config/config.js';
import type { Db } from './db/connect.js';
import { migrateToLatest } from './db/migrate.js';
import { TokenService } from './auth/tokens.js';
import { DirectoryRepository } from './modules/directory/repository.js';
import { DirectoryService, type ClientCredentials } from './modules/directory/service.js';
import { SourceRepository } from './modules/sources/repository.js';
import { SourceService } from './modules/sources/service.js';
import { SchemaAttributeRepository } from './modules/schema-attributes/repository.js';
import { SchemaAttributeService } from './modules/schema-attributes/service.js';

export interface Services {
  directory: DirectoryService;
  tokens: TokenService;
  sources: SourceService;
  attributes: SchemaAttributeService;
}

export interface Core {
  services: Services;
  /** Set when this start generated the admin client: print it once. */
  generatedAdmin: ClientCredentials | undefined;
}

/** Migrates the database, loads the signing keys, makes sure the admin exists, wires the services. */
export async function createCore(config: Config, db: Db): Promise<Core> {
  await migrateToLatest(db.kysely, db.engine, db.schema);
  const directory = new DirectoryService(new DirectoryRepository(db.kysely));
  const tokens = new TokenService(db.kysely, config.tokenTtl);
  await tokens.init();
  const admin = await directory.bootstrapAdmin(
    config.tenant,
    config.adminClientId && config.adminClientSecret ? { clientId: config.adminClientId, clientSecret: config.adminClientSecret } : undefined,
  );
  const sources = new SourceService(new SourceRepository(db.kysely), directory);
  const attributes = new SchemaAttributeService(new SchemaAttributeRepository(db.kysely), sources);
  return { services: { directory, tokens, sources, attributes }, generatedAdmin: admin.generated };
}
