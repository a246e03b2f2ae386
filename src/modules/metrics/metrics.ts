/**
 * The Prometheus metrics of one app (docs/operations.md, "Metrics"), in a registry of its own:
 * - per request: count and latency by route template (never the raw URL), method and status;
 * - per query: its latency, from the database's query log; the connections' use at scrape time;
 * - sign-ins and refusals, by the token endpoint's and the console sign-in's answers;
 * - webhook attempts by outcome and bulk jobs ended by this process, with their run time;
 * - at scrape time, with bounded queries (repository.ts): the event log's backlog and the age of
 *   its oldest unconsumed event per consumer, unfinished bulk jobs by state, the lifecycle sweep's lag;
 * - Node's process metrics (prom-client's defaults).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Kysely } from 'kysely';
import type { Db } from '../../db/dialect.js';
import type { Database } from '../../db/types.js';
import type { Clock } from '../../domain/clock.js';
import { MetricsRepository } from './repository.js';

/** Where the answers that count as sign-ins come from: route template → kind. */
const SIGN_IN_ROUTES: Record<string, string> = { 'POST /oauth/token': 'token', 'POST /console/api/session': 'console' };

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const QUERY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];
const JOB_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];

export interface ScrapeLog {
  warn(obj: object, msg: string): void;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly repo = new MetricsRepository();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly latency: Histogram<'method' | 'route' | 'status'>;
  private readonly queries: Histogram<'outcome'>;
  private readonly signIns: Counter<'kind' | 'outcome'>;
  private readonly webhookAttempts: Counter<'outcome'>;
  private readonly jobsEnded: Histogram<'outcome'>;
  private readonly pool: Gauge<'state'>;
  private readonly backlog: Gauge<'consumer'>;
  private readonly backlogAge: Gauge<'consumer'>;
  private readonly jobs: Gauge<'state'>;
  private readonly sweepLag: Gauge;
  private readonly scrapeFailures: Counter;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'nelm_http_requests_total',
      help: 'HTTP requests answered, by route template, method and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'nelm_http_request_duration_seconds',
      help: 'Time from a request received to its answer sent, by route template, method and status',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers,
    });
    this.queries = new Histogram({
      name: 'nelm_db_query_duration_seconds',
      help: 'Database query time, by outcome (ok, error)',
      labelNames: ['outcome'],
      buckets: QUERY_BUCKETS,
      registers,
    });
    this.pool = new Gauge({
      name: 'nelm_db_connections',
      help: 'Database connections by state: open, idle, and waiting (queries waiting for one)',
      labelNames: ['state'],
      registers,
    });
    this.signIns = new Counter({
      name: 'nelm_sign_ins_total',
      help: 'Sign-ins by kind (token: POST /oauth/token; console: a password sign-in) and outcome (accepted, refused, throttled)',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.webhookAttempts = new Counter({
      name: 'nelm_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome (succeeded, retrying, failed)',
      labelNames: ['outcome'],
      registers,
    });
    this.jobsEnded = new Histogram({
      name: 'nelm_bulk_job_duration_seconds',
      help: 'Bulk jobs this process ended, by outcome (COMPLETED, ERROR), and their run time',
      labelNames: ['outcome'],
      buckets: JOB_BUCKETS,
      registers,
    });
    this.jobs = new Gauge({
      name: 'nelm_bulk_jobs',
      help: 'Unfinished bulk jobs by state (PENDING, IN_PROGRESS), all processes',
      labelNames: ['state'],
      registers,
    });
    this.backlog = new Gauge({ name: 'nelm_event_backlog', help: 'Events committed and not yet consumed, by consumer', labelNames: ['consumer'], registers });
    this.backlogAge = new Gauge({
      name: 'nelm_event_backlog_oldest_seconds',
      help: 'Age of the oldest event not yet consumed, by consumer (0: none)',
      labelNames: ['consumer'],
      registers,
    });
    this.sweepLag = new Gauge({
      name: 'nelm_lifecycle_sweep_lag_seconds',
      help: 'How long the oldest lifecycle step due has waited for the sweep (0: nothing overdue)',
      registers,
    });
    this.scrapeFailures = new Counter({
      name: 'nelm_metrics_scrape_failures_total',
      help: 'Scrapes whose database-backed gauges could not be read',
      registers,
    });
    this.db.queryTiming.listener = (seconds, failed) => this.queries.observe({ outcome: failed ? 'error' : 'ok' }, seconds);
  }

  /** An answered request, by route template (`unmatched` when no route took it). */
  answered(method: string, route: string | undefined, status: number, ms: number): void {
    const labels = { method, route: route ?? 'unmatched', status: String(status) };
    this.requests.inc(labels);
    this.latency.observe(labels, ms / 1000);
    const kind = route === undefined ? undefined : SIGN_IN_ROUTES[`${method} ${route}`];
    if (kind !== undefined) this.signIns.inc({ kind, outcome: status < 300 ? 'accepted' : status === 429 ? 'throttled' : 'refused' });
  }

  webhookAttempt(status: string): void {
    this.webhookAttempts.inc({ outcome: status.toLowerCase() });
  }

  jobEnded(status: string, seconds: number): void {
    this.jobsEnded.observe({ outcome: status }, Math.max(0, seconds));
  }

  /** The text a scrape answers: the gauges read from the database first. */
  async scrape(log?: ScrapeLog): Promise<string> {
    try {
      await this.refresh(this.db.kysely);
    } catch (error) {
      this.scrapeFailures.inc();
      log?.warn({ err: error }, 'metrics: the database-backed gauges could not be read');
    }
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stops hearing the database's queries. */
  close(): void {
    this.db.queryTiming.listener = undefined;
    this.registry.clear();
  }

  private async refresh(db: Kysely<Database>): Promise<void> {
    const use = this.db.poolUse();
    this.pool.set({ state: 'open' }, use.total);
    this.pool.set({ state: 'idle' }, use.idle);
    this.pool.set({ state: 'waiting' }, use.waiting);
    const now = this.clock.now();
    const [backlog, jobs, oldestDue] = await Promise.all([
      this.repo.backlog(db),
      this.repo.queuedJobs(db),
      this.repo.oldestDue(db, new Date(now).toISOString()),
    ]);
    this.backlog.reset();
    this.backlogAge.reset();
    for (const { consumer, backlog: count, oldest } of backlog) {
      this.backlog.set({ consumer }, count);
      // Events carry the system's time; due steps the lifecycle clock's.
      this.backlogAge.set({ consumer }, oldest === null ? 0 : Math.max(0, (Date.now() - Date.parse(oldest)) / 1000));
    }
    for (const state of ['PENDING', 'IN_PROGRESS']) this.jobs.set({ state }, jobs.get(state) ?? 0);
    this.sweepLag.set(oldestDue === null ? 0 : Math.max(0, (now - Date.parse(oldestDue)) / 1000));
  }
}
