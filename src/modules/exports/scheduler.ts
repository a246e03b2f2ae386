/**
 * Scheduled exports (docs/operations.md#scheduled-exports): at each tick of NELM_EXPORT_SCHEDULE
 * (cron, UTC), every source's CSV export — the bytes of `GET …/non-employees/download`, from the
 * bulk module's export — is written to `<dir>/<source-id>/<timestamp>.csv` through a temporary
 * file renamed when complete, and the files beyond the newest N of the source are deleted. Each
 * source's file appends `export.completed` to the event log, or `export.failed` with the reason.
 *
 * Each tick is done by one process at a time. A tick is named by the schedule (the latest time
 * the pattern gives at or before the moment the timer fired), never by the clock: a process whose
 * timer fires late names the same tick as the others. Every process's scheduler fires, and the one
 * whose insert of the tick's row in `export_ticks` wins holds the tick for a lease, moved on as
 * the files are written. Each source done (its file and its event, in one transaction) is noted in
 * `export_tick_sources`. A tick left unfinished — its process killed, stopped (it gives the claim
 * back), or failed (it writes `export.failed` for the tick) — is taken over, once its lease has run
 * out, by the first process that looks (every `retryMs`), which exports the sources not done yet;
 * while it is the schedule's latest tick, and at most MAX_ATTEMPTS times.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Cron } from 'croner';
import type { Kysely } from 'kysely';
import { type Principal, RIGHTS } from '../../auth/principal.js';
import type { ExportSettings } from '../../config/exports.js';
import { transaction } from '../../db/dialect.js';
import type { Database } from '../../db/types.js';
import { nowIso } from '../../domain/ids.js';
import { Poller } from '../../jobs/poller.js';
import type { BulkService } from '../bulk/service.js';
import type { EventInput } from '../events/model.js';
import type { EventLog } from '../events/service.js';
import type { SourceService } from '../sources/service.js';
import type { ExportRepository } from './repository.js';

export interface ExportLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ExportDeps {
  sources: SourceService;
  bulk: BulkService;
  events: EventLog;
}

export interface SchedulerOptions {
  /** Whether other processes share the database (PostgreSQL); without, unfinished claims are this process's predecessor's. */
  shared: boolean;
  /** True once the process stops taking work (readiness drains): no tick is claimed from then on. */
  draining?: () => boolean;
}

/** A file the scheduler wrote: `20261207T020000Z.csv` (the tick's time, UTC). */
const FILE = /^\d{8}T\d{6}Z\.csv$/;
/** Claims of ticks older than this are removed. */
const CLAIMS_KEPT_MS = 24 * 3600 * 1000;
/** How long a claim holds without the tick's export moving on. */
const LEASE_MS = 60_000;
/** How often each process looks for an unfinished tick whose lease has run out. */
const RETRY_MS = 15_000;
/** Claims of one tick at most (giving it back at a stop does not count). */
const MAX_ATTEMPTS = 5;
/** Sources read at once. */
const PAGE = 250;

/** The name of a tick's file: its time in ISO 8601's basic format, which sorts as time does. */
export function exportFileName(tick: Date): string {
  return `${tick
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll('-', '')
    .replaceAll(':', '')}.csv`;
}

/**
 * The tick of the schedule `cron` that is due at `now`: the latest time its pattern gives at or
 * before `now` (croner's previous runs leave out a run exactly at the reference time, hence the
 * millisecond). Whole seconds, whatever `now`'s milliseconds.
 */
export function latestTick(cron: Cron, now: Date): Date | undefined {
  return cron.previousRuns(1, new Date(now.getTime() + 1))[0];
}

/** The claim of a tick this process no longer holds: another process took the tick over. */
class ClaimLost extends Error {
  constructor(tick: string) {
    super(`the claim of the export tick ${tick} was taken over by another process`);
    this.name = 'ClaimLost';
  }
}

/**
 * A claim of a tick held by this process: who holds it (host, process id and an id of the claim's
 * own), its lease, moved on as the export goes, and what stops it.
 */
class Claim {
  readonly by = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  readonly stop = new AbortController();
  private renewedAt = Date.now();

  constructor(
    readonly at: string,
    private readonly leaseMs: number,
    private readonly renew: (by: string, leaseUntil: string) => Promise<boolean>,
  ) {}

  leaseUntil(): string {
    return new Date(Date.now() + this.leaseMs).toISOString();
  }

  renewed(): void {
    this.renewedAt = Date.now();
  }

  /** Moves the lease on if a third of it has passed (or `now`); throws when stopped or no longer held. */
  keep(now = false): Promise<void> | undefined {
    this.stop.signal.throwIfAborted();
    if (!now && Date.now() - this.renewedAt < this.leaseMs / 3) return undefined;
    return this.renew(this.by, this.leaseUntil()).then((held) => {
      if (!held) throw new ClaimLost(this.at);
      this.renewed();
    });
  }
}

/** Counts a CSV's rows as they pass (line ends outside quoted fields); `progress` moves the lease on. */
class RowCounter extends Transform {
  lines = 0;
  bytes = 0;
  private quoted = false;
  constructor(private readonly progress: () => Promise<void> | undefined) {
    super();
  }
  override _transform(chunk: string | Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, 'utf8');
    for (const byte of bytes) {
      if (byte === 0x22) this.quoted = !this.quoted;
      else if (byte === 0x0a && !this.quoted) this.lines++;
    }
    this.bytes += bytes.length;
    let kept: Promise<void> | undefined;
    try {
      kept = this.progress();
    } catch (error) {
      done(error as Error);
      return;
    }
    if (kept) kept.then(() => done(null, bytes), done);
    else done(null, bytes);
  }
}

export class ScheduledExports {
  private cron: Cron | undefined;
  private poller: Poller | undefined;
  /** The tick the schedule (or the look for an unfinished one) runs, one at a time. */
  private running: Promise<boolean> | undefined;
  /** Every tick in progress, and the claims they hold. */
  private readonly runs = new Set<Promise<boolean>>();
  private readonly claims = new Set<Claim>();
  private log: ExportLog | undefined;
  /** Unfinished claims were released at start (one process on the database). */
  private released = false;
  private stopped = false;
  private readonly leaseMs: number;

  constructor(
    private readonly settings: ExportSettings,
    private readonly tenantId: string,
    private readonly db: Kysely<Database>,
    private readonly repo: ExportRepository,
    private readonly deps: ExportDeps,
    private readonly options: SchedulerOptions,
  ) {
    this.leaseMs = settings.leaseMs ?? LEASE_MS;
  }

  start(log: ExportLog): void {
    if (this.cron) return;
    this.log = log;
    this.stopped = false;
    this.cron = new Cron(this.settings.schedule, { timezone: 'UTC', protect: true }, async (self: Cron) => {
      const tick = latestTick(self, new Date());
      if (tick) await this.attempt(tick, false);
    });
    this.poller = new Poller({
      name: 'exports',
      idleMs: this.settings.retryMs ?? RETRY_MS,
      tick: () => this.resume(),
      onError: (error) => log.error({ err: error }, 'looking for an unfinished export tick failed'),
    });
    this.poller.start();
  }

  get isRunning(): boolean {
    return this.cron !== undefined;
  }

  /**
   * Stops the schedule. A tick in progress stops after the file being written (which is left
   * out) and is given back, for another process to finish.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cron?.stop();
    this.cron = undefined;
    for (const claim of this.claims) claim.stop.abort();
    await this.poller?.stop();
    this.poller = undefined;
    await Promise.allSettled([...this.runs]);
  }

  /** Takes over the schedule's latest tick if it is unfinished and its lease has run out. */
  private async resume(): Promise<boolean> {
    if (!this.options.shared && !this.released) {
      await this.repo.releaseAll(this.db, nowIso());
      this.released = true;
    }
    const tick = this.cron && latestTick(this.cron, new Date());
    if (tick) await this.attempt(tick, true);
    return false;
  }

  /** One tick at a time in this process, none once it drains; errors are logged. */
  private attempt(tick: Date, takeOverOnly: boolean): Promise<boolean> {
    if (this.running || this.cron === undefined || this.options.draining?.()) return Promise.resolve(false);
    const running = this.tick(tick, takeOverOnly).catch((error: unknown) => {
      this.log?.error({ err: error, tick: tick.toISOString() }, 'a scheduled export failed');
      return false;
    });
    this.running = running.finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /**
   * The tick at `tick`: claimed by this process (new, or taken over; with `takeOverOnly`, only
   * taken over) or held by another. If by this one, every source not done yet is exported; true
   * when the tick is finished.
   */
  async tick(tick: Date, takeOverOnly = false): Promise<boolean> {
    const run = this.run(tick, takeOverOnly);
    this.runs.add(run);
    try {
      return await run;
    } finally {
      this.runs.delete(run);
    }
  }

  private async run(tick: Date, takeOverOnly: boolean): Promise<boolean> {
    const at = tick.toISOString();
    const claim = new Claim(at, this.leaseMs, (by, until) => this.repo.renew(this.db, at, by, until));
    const now = nowIso();
    const claimed = takeOverOnly
      ? await this.repo.takeOver(this.db, at, claim.by, now, claim.leaseUntil(), MAX_ATTEMPTS)
      : await this.repo.claim(this.db, at, claim.by, now, claim.leaseUntil(), MAX_ATTEMPTS);
    if (!claimed) return false;
    this.claims.add(claim);
    // Stopped while the claim was being made: given back at once.
    if (this.stopped) claim.stop.abort();
    try {
      const principal: Principal = { tenantId: this.tenantId, identityId: '', alias: 'nelm', clientId: '', admin: true, rights: new Set(RIGHTS) };
      const done = await this.repo.doneSources(this.db, at);
      if (takeOverOnly) this.log?.info({ tick: at, done: done.size }, 'taking over an unfinished export tick');
      for (let offset = 0; ; offset += PAGE) {
        const { sources } = await this.deps.sources.list(principal, { limit: PAGE, offset, count: false });
        for (const source of sources) {
          claim.stop.signal.throwIfAborted();
          if (!done.has(source.id)) await this.exportSource(claim, principal, source.id, source.name, tick);
        }
        if (sources.length < PAGE) break;
      }
      if (!(await transaction(this.db, (trx) => this.repo.finish(trx, at, claim.by, nowIso())))) throw new ClaimLost(at);
    } catch (error) {
      await this.unfinished(claim, error);
      return false;
    } finally {
      this.claims.delete(claim);
    }
    await this.repo
      .forget(this.db, new Date(tick.getTime() - CLAIMS_KEPT_MS).toISOString())
      .catch((error: unknown) => this.log?.warn({ err: error }, 'removing old export claims failed: the next tick removes them'));
    return true;
  }

  /** A tick this process holds stopped before its end: given back, or failed (another attempt follows). */
  private async unfinished(claim: Claim, error: unknown): Promise<void> {
    const tick = claim.at;
    if (error instanceof ClaimLost) {
      this.log?.warn({ tick }, 'another process took the export tick over (this one stalled past its lease): it stops');
      return;
    }
    const givenBack = claim.stop.signal.aborted;
    await this.repo
      .release(this.db, tick, claim.by, nowIso(), givenBack)
      .catch((e: unknown) => this.log?.error({ err: e, tick }, 'the export tick could not be released: it is taken over when its lease runs out'));
    if (givenBack) {
      this.log?.info({ tick }, 'stopping: the export tick is given back for another process to finish');
      return;
    }
    const reason = (error as Error)?.message ?? String(error);
    this.log?.error({ err: error, tick }, 'a scheduled export stopped before its end: another attempt finishes it');
    await this.deps.events
      .record(this.tenantId, {
        type: 'export.failed',
        actor: null,
        target: { type: 'export', id: tick, sourceId: null },
        data: { object: { tick }, error: reason },
      })
      .catch((e: unknown) => this.log?.error({ err: e, tick }, 'the export.failed event could not be written'));
  }

  private async exportSource(claim: Claim, principal: Principal, sourceId: string, name: string, tick: Date): Promise<void> {
    const folder = path.join(this.settings.dir, sourceId);
    const file = exportFileName(tick);
    const target = { type: 'source', id: sourceId, sourceId };
    const temporary = path.join(folder, `.${file}.${process.pid}.partial`);
    let event: EventInput;
    let written: { rows: number; bytes: number } | undefined;
    try {
      await mkdir(folder, { recursive: true });
      const { lines } = await this.deps.bulk.export(principal, sourceId);
      const counter = new RowCounter(() => claim.keep());
      await pipeline(Readable.from(lines), counter, createWriteStream(temporary), { signal: claim.stop.signal });
      // Still this process's tick: a process that stalled past its lease leaves the file to the one that took over.
      await claim.keep(true);
      await rename(temporary, path.join(folder, file));
      written = { rows: Math.max(0, counter.lines - 1), bytes: counter.bytes };
      await this.prune(folder);
      event = { type: 'export.completed', actor: null, target, data: { object: { id: sourceId, name }, file: path.join(sourceId, file), ...written } };
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => undefined);
      if (claim.stop.signal.aborted || error instanceof ClaimLost) throw error;
      const reason = (error as Error).message ?? String(error);
      this.log?.error({ err: error, sourceId, file: path.join(folder, file) }, 'a scheduled export of a source failed');
      event = { type: 'export.failed', actor: null, target, data: { object: { id: sourceId, name }, file: path.join(sourceId, file), error: reason } };
    }
    // The source done and its event, in one transaction, while the claim is still this process's.
    await transaction(this.db, async (trx) => {
      if (!(await this.repo.renew(trx, claim.at, claim.by, claim.leaseUntil()))) throw new ClaimLost(claim.at);
      await this.repo.sourceDone(trx, claim.at, sourceId, nowIso());
      await this.deps.events.append(trx, this.tenantId, [event]);
    });
    claim.renewed();
    if (written) this.log?.info({ sourceId, file: path.join(folder, file), ...written }, 'scheduled export written');
  }

  /** Deletes the source's files beyond the newest `keep`. */
  private async prune(folder: string): Promise<void> {
    const files = (await readdir(folder)).filter((f) => FILE.test(f)).sort();
    for (const old of files.slice(0, Math.max(0, files.length - this.settings.keep))) await rm(path.join(folder, old), { force: true });
  }
}
