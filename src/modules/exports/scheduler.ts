/**
 * Scheduled exports (docs/operations.md#scheduled-exports): at each tick of NELM_EXPORT_SCHEDULE
 * (cron, UTC), every source's CSV export — the bytes of `GET …/non-employees/download`, from the
 * bulk module's export — is written to `<dir>/<source-id>/<timestamp>.csv` through a temporary
 * file renamed when complete, and the files beyond the newest N of the source are deleted. Each
 * tick is done by one process: every process's scheduler fires, and the one whose insert of the
 * tick's row in `export_ticks` wins writes the files. A tick is named by the schedule (the latest
 * time its pattern gives at or before the moment the timer fired), never by the clock. Each source's file appends
 * `export.completed` to the event log, or `export.failed` with the reason.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Cron } from 'croner';
import type { Kysely } from 'kysely';
import { type Principal, RIGHTS } from '../../auth/principal.js';
import type { ExportSettings } from '../../config/exports.js';
import type { Database } from '../../db/types.js';
import { nowIso } from '../../domain/ids.js';
import type { BulkService } from '../bulk/service.js';
import type { EventLog } from '../events/service.js';
import type { SourceService } from '../sources/service.js';
import type { ExportRepository } from './repository.js';

export interface ExportLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ExportDeps {
  sources: SourceService;
  bulk: BulkService;
  events: EventLog;
}

/** A file the scheduler wrote: `20261207T020000Z.csv` (the tick's time, UTC). */
const FILE = /^\d{8}T\d{6}Z\.csv$/;
/** Claims of ticks older than this are removed. */
const CLAIMS_KEPT_MS = 24 * 3600 * 1000;

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

/** Counts a CSV's rows as they pass: line ends outside quoted fields (a doubled quote toggles twice). */
class RowCounter extends Transform {
  lines = 0;
  bytes = 0;
  private quoted = false;
  override _transform(chunk: string | Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, 'utf8');
    for (const byte of bytes) {
      if (byte === 0x22) this.quoted = !this.quoted;
      else if (byte === 0x0a && !this.quoted) this.lines++;
    }
    this.bytes += bytes.length;
    done(null, bytes);
  }
}

export class ScheduledExports {
  private cron: Cron | undefined;
  private running: Promise<void> | undefined;
  private log: ExportLog | undefined;
  private readonly me = `${hostname()}:${process.pid}`;

  constructor(
    private readonly settings: ExportSettings,
    private readonly tenantId: string,
    private readonly db: Kysely<Database>,
    private readonly repo: ExportRepository,
    private readonly deps: ExportDeps,
  ) {}

  start(log: ExportLog): void {
    if (this.cron) return;
    this.log = log;
    this.cron = new Cron(this.settings.schedule, { timezone: 'UTC', protect: true }, (self: Cron) => {
      // The schedule's tick, whenever the timer fired: a process that fires late names the same one.
      const tick = latestTick(self, new Date());
      if (!tick) return undefined;
      this.running = this.tick(tick).then(
        () => undefined,
        (error: unknown) => log.error({ err: error, tick: tick.toISOString() }, 'a scheduled export failed'),
      );
      return this.running;
    });
  }

  get isRunning(): boolean {
    return this.cron !== undefined;
  }

  /** Stops the schedule, after the tick in progress, if any. */
  async stop(): Promise<void> {
    this.cron?.stop();
    this.cron = undefined;
    await this.running;
  }

  /** The tick at `tick`: claimed by this process or another; if by this one, every source exported. */
  async tick(tick: Date): Promise<boolean> {
    const at = tick.toISOString();
    if (!(await this.repo.claim(this.db, at, this.me, nowIso()))) return false;
    const principal: Principal = { tenantId: this.tenantId, identityId: '', alias: 'nelm', clientId: '', admin: true, rights: new Set(RIGHTS) };
    for (let offset = 0; ; offset += 250) {
      const { sources } = await this.deps.sources.list(principal, { limit: 250, offset, count: false });
      for (const source of sources) await this.exportSource(principal, source.id, source.name, tick);
      if (sources.length < 250) break;
    }
    await this.repo.finish(this.db, at, nowIso());
    await this.repo.forget(this.db, new Date(tick.getTime() - CLAIMS_KEPT_MS).toISOString());
    return true;
  }

  private async exportSource(principal: Principal, sourceId: string, name: string, tick: Date): Promise<void> {
    const folder = path.join(this.settings.dir, sourceId);
    const file = exportFileName(tick);
    const target = { type: 'source', id: sourceId, sourceId };
    const temporary = path.join(folder, `.${file}.${process.pid}.partial`);
    try {
      await mkdir(folder, { recursive: true });
      const { lines } = await this.deps.bulk.export(principal, sourceId);
      const counter = new RowCounter();
      await pipeline(Readable.from(lines), counter, createWriteStream(temporary));
      await rename(temporary, path.join(folder, file));
      const rows = Math.max(0, counter.lines - 1);
      await this.prune(folder);
      await this.deps.events.record(this.tenantId, {
        type: 'export.completed',
        actor: null,
        target,
        data: { object: { id: sourceId, name }, file: path.join(sourceId, file), rows, bytes: counter.bytes },
      });
      this.log?.info({ sourceId, file: path.join(folder, file), rows, bytes: counter.bytes }, 'scheduled export written');
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => undefined);
      const reason = (error as Error).message ?? String(error);
      this.log?.error({ err: error, sourceId, file: path.join(folder, file) }, 'a scheduled export of a source failed');
      await this.deps.events
        .record(this.tenantId, {
          type: 'export.failed',
          actor: null,
          target,
          data: { object: { id: sourceId, name }, file: path.join(sourceId, file), error: reason },
        })
        .catch((e: unknown) => this.log?.error({ err: e, sourceId }, 'the export.failed event could not be written'));
    }
  }

  /** Deletes the source's files beyond the newest `keep`. */
  private async prune(folder: string): Promise<void> {
    const files = (await readdir(folder)).filter((f) => FILE.test(f)).sort();
    for (const old of files.slice(0, Math.max(0, files.length - this.settings.keep))) await rm(path.join(folder, old), { force: true });
  }
}
