/**
 * PostgreSQL: the fence that lets one server process answer record gets from memory while every
 * other writer of `records` (other server processes, scripts, an administrator's SQL) waits until
 * that memory can no longer be trusted. Dropped by migration 0006.
 *
 * - `record_cache_holder`, `record_cache_renewed`, `record_cache_foreign_write`: sequences used as
 *   three shared numbers: the holder's process id (0: none), when its lease was last renewed and
 *   when another process last wrote records while it held one (ms since the epoch, PostgreSQL's
 *   clock). A sequence's value is not transactional: a writer reads the latest one whatever its
 *   snapshot or isolation level.
 * - An advisory lock of this schema: writers of `records` take it shared until they commit, a
 *   renewal takes it exclusively and only if it is free. While a write is under way, no lease is
 *   renewed.
 * - `record_cache_renew(process id)`: renews or acquires the lease (1 renewed, 2 acquired, 0 no).
 * - `record_cache_release(process id)`: gives it up (true), unless a write is under way.
 * - `record_cache_fence()`: before every UPDATE, DELETE or TRUNCATE of `records` (a source's
 *   deletion deletes its records through the foreign key, which runs it too). A process that is
 *   not the holder waits until the holder's lease has run out. INSERTs need no fence: a get of an
 *   id that was not found is never kept.
 *
 * The functions keep the search_path they were created with, so their lock and sequences are this
 * schema's whoever calls them, and run with their owner's rights: a role that may write records
 * needs no rights on the sequences. SQLite: nothing (one server process owns the file).
 * Frozen once landed: change the schema with a new migration. Imports nothing from the application.
 */
import { type Kysely, sql } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

/** How long a renewal lets the holder trust its memory, as PostgreSQL counts it. */
export const LEASE_MS = 1000;
/** A writer waits this much longer than the lease, for scheduling between the two clocks. */
const FENCE_MARGIN_MS = 50;
/** After another process's write, no lease is renewed or acquired for this long. */
const BACKOFF_MS = 30_000;
/** A lease not renewed for this long was left by a process that is gone: another may take it. */
const ABANDONED_MS = 60_000;
/** The advisory lock's first key ('NELM'); the second is the hash of the schema's name. */
const LOCK_CLASS = 0x4e454c4d;

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  if (dialect === 'sqlite') return;
  for (const name of ['record_cache_holder', 'record_cache_renewed', 'record_cache_foreign_write']) {
    await sql`create sequence ${sql.id(name)} minvalue 0 start 0`.execute(db);
  }
  const lock = sql.raw(`${LOCK_CLASS}, hashtext(current_schema())`);
  const nowMs = sql.raw(`(extract(epoch from clock_timestamp()) * 1000)::bigint`);
  await sql`create function record_cache_renew(me bigint) returns int language plpgsql security definer set search_path from current as $$
    declare
      now_ms bigint := ${nowMs};
      holder bigint;
    begin
      if not pg_try_advisory_xact_lock(${lock}) then return 0; end if;
      if coalesce(pg_sequence_last_value('record_cache_foreign_write'), 0) > now_ms - ${sql.lit(BACKOFF_MS)} then return 0; end if;
      holder := coalesce(pg_sequence_last_value('record_cache_holder'), 0);
      if holder not in (0, me) and coalesce(pg_sequence_last_value('record_cache_renewed'), 0) > now_ms - ${sql.lit(ABANDONED_MS)} then
        return 0;
      end if;
      perform setval('record_cache_renewed', now_ms);
      if holder = me then return 1; end if;
      perform setval('record_cache_holder', me);
      return 2;
    end $$`.execute(db);
  // Only tries the lock, like a renewal: a release never waits behind writers (a lease not given
  // up is taken over once abandoned).
  await sql`create function record_cache_release(me bigint) returns boolean language plpgsql security definer set search_path from current as $$
    begin
      if not pg_try_advisory_xact_lock(${lock}) then return false; end if;
      if coalesce(pg_sequence_last_value('record_cache_holder'), 0) <> me then return false; end if;
      perform setval('record_cache_holder', 0);
      return true;
    end $$`.execute(db);
  // Running with the owner's rights, the lease is the owner's (the server's role) to take.
  await sql`revoke execute on function record_cache_renew(bigint), record_cache_release(bigint) from public`.execute(db);
  await sql`create function record_cache_fence() returns trigger language plpgsql security definer set search_path from current as $$
    declare
      holder bigint;
      renewed bigint;
      now_ms bigint;
    begin
      perform pg_advisory_xact_lock_shared(${lock});
      holder := coalesce(pg_sequence_last_value('record_cache_holder'), 0);
      if holder = 0 or holder::text = current_setting('nelm.process_id', true) then return null; end if;
      renewed := coalesce(pg_sequence_last_value('record_cache_renewed'), 0);
      now_ms := ${nowMs};
      if renewed <= now_ms - ${sql.lit(ABANDONED_MS)} then return null; end if;
      perform setval('record_cache_foreign_write', now_ms);
      if renewed + ${sql.lit(LEASE_MS + FENCE_MARGIN_MS)} > now_ms then
        perform pg_sleep((renewed + ${sql.lit(LEASE_MS + FENCE_MARGIN_MS)} - now_ms) / 1000.0);
      end if;
      return null;
    end $$`.execute(db);
  await sql`create trigger records_cache_fence before update or delete or truncate on records
    for each statement execute function record_cache_fence()`.execute(db);
}

export async function down(db: Kysely<any>, dialect: Dialect): Promise<void> {
  if (dialect === 'sqlite') return;
  await sql`drop trigger records_cache_fence on records`.execute(db);
  for (const fn of ['record_cache_fence()', 'record_cache_release(bigint)', 'record_cache_renew(bigint)']) await sql.raw(`drop function ${fn}`).execute(db);
  for (const name of ['record_cache_holder', 'record_cache_renewed', 'record_cache_foreign_write']) await sql`drop sequence ${sql.id(name)}`.execute(db);
}
