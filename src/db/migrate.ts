/**
 * Runs the migrations in src/db/migrations, in name order. Each migration receives the engine so
 * that dialect differences are explicit in the migration itself.
 */
import { type Kysely, type Migration, type MigrationProvider, type MigrationResultSet, Migrator } from 'kysely';
import type { Engine } from '../config/config.js';
import * as foundation from './migrations/20261123_0001_foundation.js';
import * as requests from './migrations/20261123_0002_requests.js';
import * as bulkJobs from './migrations/20261123_0003_bulk_jobs.js';

interface EngineMigration {
  up(db: Kysely<any>, engine: Engine): Promise<void>;
  down?(db: Kysely<any>, engine: Engine): Promise<void>;
}

/** Every migration, by its frozen name. Add new ones at the end. */
const MIGRATIONS: Record<string, EngineMigration> = {
  '20261123_0001_foundation': foundation,
  '20261123_0002_requests': requests,
  '20261123_0003_bulk_jobs': bulkJobs,
};

class EngineMigrationProvider implements MigrationProvider {
  constructor(private readonly engine: Engine) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {};
    for (const [name, m] of Object.entries(MIGRATIONS)) {
      out[name] = {
        up: (db) => m.up(db, this.engine),
        ...(m.down ? { down: (db: Kysely<any>) => m.down!(db, this.engine) } : {}),
      };
    }
    return out;
  }
}

export async function migrateToLatest(db: Kysely<any>, engine: Engine, schema?: string): Promise<string[]> {
  // With a schema of its own, the bookkeeping tables live there too (Kysely would otherwise find
  // another schema's tables by introspection and skip creating them).
  const migrator = new Migrator({ db, provider: new EngineMigrationProvider(engine), ...(schema ? { migrationTableSchema: schema } : {}) });
  const result: MigrationResultSet = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`Migration ${failed ?? ''} failed: ${(result.error as Error).message ?? String(result.error)}`);
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
