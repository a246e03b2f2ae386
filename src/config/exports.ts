/**
 * The configuration of scheduled exports, read from the environment by config.ts
 * (docs/configuration.md, "Scheduled exports"; docs/operations.md#scheduled-exports).
 */
import path from 'node:path';
import { Cron } from 'croner';
import { integer } from './values.js';

export interface ExportSettings {
  /** When to export: a cron expression (5 fields, or 6 with seconds first), in UTC. */
  schedule: string;
  /** The folder the files go to: `<dir>/<source-id>/<timestamp>.csv`. */
  dir: string;
  /** Files kept per source: the newest N. */
  keep: number;
  /**
   * How long a claim of a tick holds while its export does not move on (60 s), and how often each
   * process looks for an unfinished tick to take over (15 s). Not read from the environment:
   * tests shorten them.
   */
  leaseMs?: number;
  retryMs?: number;
}

/** NELM_EXPORT_*: undefined when no schedule is set; each problem in `problems`. */
export function exportSettings(env: NodeJS.ProcessEnv, problems: string[]): ExportSettings | undefined {
  const schedule = env.NELM_EXPORT_SCHEDULE?.trim() || undefined;
  const dir = env.NELM_EXPORT_DIR?.trim() || undefined;
  const keep = integer('NELM_EXPORT_KEEP', env.NELM_EXPORT_KEEP, 7, 1, 100_000, problems);
  if (schedule === undefined) {
    if (dir !== undefined) problems.push('NELM_EXPORT_DIR is set without NELM_EXPORT_SCHEDULE: set a schedule too (cron syntax), or unset it');
    return undefined;
  }
  try {
    new Cron(schedule, { paused: true, timezone: 'UTC' }).stop();
  } catch (error) {
    problems.push(`NELM_EXPORT_SCHEDULE must be a cron expression such as '0 2 * * *' (02:00 UTC daily): ${(error as Error).message}`);
  }
  if (dir === undefined) {
    problems.push('NELM_EXPORT_SCHEDULE needs NELM_EXPORT_DIR: the folder the exports are written to');
    return undefined;
  }
  return { schedule, dir: path.resolve(dir), keep };
}
