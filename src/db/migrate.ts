/**
 * Runs the migrations in src/db/migrations, in name order. Each migration receives the engine so
 * that dialect differences are explicit in the migration itself.
 */
import { type Kysely, type Migration, type MigrationProvider, type MigrationResultSet, Migrator } from 'kysely';
import type { Engine } from '../config/config.js';
import * as foundation from './migrations/20261123_0001_foundation.js';
import * as requests from './migrations/20261123_0002_requests.js';
import * as bulkJobs from './migrations/20261123_0003_bulk_jobs.js';
import * as recordJson from './migrations/20261123_0004_record_json.js';
import * as recordCache from './migrations/20261124_0005_record_cache.js';
import * as plainRecords from './migrations/20261206_0006_plain_records.js';
import * as dateZones from './migrations/20261206_0007_date_zones.js';
import * as requestComment from './migrations/20261206_0008_request_comment.js';
import * as orderedData from './migrations/20261206_0009_ordered_data.js';
import * as caselessNames from './migrations/20261206_0010_caseless_names.js';
import * as bulkQueue from './migrations/20261207_0011_bulk_queue.js';
import * as events from './migrations/20261208_0012_events.js';
import * as bulkParts from './migrations/20261208_0013_bulk_parts.js';
import * as webhooks from './migrations/20261209_0014_webhooks.js';
import * as webhookPending from './migrations/20261209_0015_webhook_pending.js';
import * as lifecycle from './migrations/20261210_0016_lifecycle.js';
import * as sessions from './migrations/20261211_0017_sessions.js';
import * as totp from './migrations/20261212_0018_totp.js';
import * as exportTicks from './migrations/20261212_0019_export_ticks.js';
import * as rateLimits from './migrations/20261213_0020_rate_limits.js';
import * as identityDisabled from './migrations/20261214_0021_identity_disabled.js';
import * as exportLeases from './migrations/20261215_0022_export_leases.js';

interface EngineMigration {
  up(db: Kysely<any>, engine: Engine): Promise<void>;
  down?(db: Kysely<any>, engine: Engine): Promise<void>;
  /**
   * Upkeep after the migrations of a run are committed, outside any transaction (which VACUUM
   * refuses), for a migration that applied in this run: say, the VACUUM a rewritten table needs.
   */
  afterUp?(db: Kysely<any>, engine: Engine): Promise<void>;
}

/** Every migration, by its frozen name. Add new ones at the end. */
const MIGRATIONS: Record<string, EngineMigration> = {
  '20261123_0001_foundation': foundation,
  '20261123_0002_requests': requests,
  '20261123_0003_bulk_jobs': bulkJobs,
  '20261123_0004_record_json': recordJson,
  '20261124_0005_record_cache': recordCache,
  '20261206_0006_plain_records': plainRecords,
  '20261206_0007_date_zones': dateZones,
  '20261206_0008_request_comment': requestComment,
  '20261206_0009_ordered_data': orderedData,
  '20261206_0010_caseless_names': caselessNames,
  '20261207_0011_bulk_queue': bulkQueue,
  '20261208_0012_events': events,
  '20261208_0013_bulk_parts': bulkParts,
  '20261209_0014_webhooks': webhooks,
  '20261209_0015_webhook_pending': webhookPending,
  '20261210_0016_lifecycle': lifecycle,
  '20261211_0017_sessions': sessions,
  '20261212_0018_totp': totp,
  '20261212_0019_export_ticks': exportTicks,
  '20261213_0020_rate_limits': rateLimits,
  '20261214_0021_identity_disabled': identityDisabled,
  '20261215_0022_export_leases': exportLeases,
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

/** Kysely's migrator over these migrations (tests step down and up with it). */
export function migrator(db: Kysely<any>, engine: Engine, schema?: string): Migrator {
  // With a schema of its own, the bookkeeping tables live there too (Kysely would otherwise find
  // another schema's tables by introspection and skip creating them).
  return new Migrator({ db, provider: new EngineMigrationProvider(engine), ...(schema ? { migrationTableSchema: schema } : {}) });
}

export class MigrationError extends Error {
  constructor(
    readonly migration: string,
    cause: unknown,
  ) {
    super(`Migration ${migration} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'MigrationError';
  }
}

/** Applies every migration not applied yet; the names of those it applied. */
export async function migrateToLatest(db: Kysely<any>, engine: Engine, schema?: string): Promise<string[]> {
  const result: MigrationResultSet = await migrator(db, engine, schema).migrateToLatest();
  if (result.error) {
    // No migration named: the migrator itself failed (its tables, its lock), and its error says why.
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName;
    throw failed ? new MigrationError(failed, result.error) : result.error;
  }
  const applied = (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  for (const name of applied) await MIGRATIONS[name]?.afterUp?.(db, engine);
  return applied;
}

/** The migrations this version knows that the database has not applied (readiness). */
export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  const rows: { name: string }[] = await db.selectFrom('kysely_migration').select('name').execute();
  const applied = new Set(rows.map((r) => r.name));
  return Object.keys(MIGRATIONS).filter((name) => !applied.has(name));
}

/** The names of every migration this version knows, in order. */
export function migrationNames(): string[] {
  return Object.keys(MIGRATIONS);
}
