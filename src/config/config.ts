/**
 * Configuration: read from the environment here and nowhere else, validated at boot, frozen.
 * Every option is documented in docs/configuration.md.
 */
import path from 'node:path';
import { decodeKey, type KeySource } from '../auth/key-encryption.js';
import { DEFAULT_PASSWORD_HASH_COST } from '../auth/passwords.js';
import { DEFAULT_SECRET_HASH_COST } from '../auth/secrets.js';
import { type ExportSettings, exportSettings } from './exports.js';
import { type OidcSettings, oidcSettings } from './sign-in.js';
import { flag, integer } from './values.js';

/** Variables earlier versions read and this one ignores (the server says so once at start). */
const RETIRED = ['NELM_RECORD_CACHE_MB', 'NELM_SQLITE_READ_THREAD'];

export type Engine = 'sqlite' | 'postgres';

export interface RateLimit {
  max: number;
  windowSeconds: number;
}

/** Failed authentications before a lock (src/modules/oauth/guard.ts). */
export interface AuthThrottle {
  clientFailures: number;
  addressFailures: number;
}

/** The bulk upload queue (docs/bulk.md). */
export interface BulkQueueSettings {
  /** Jobs that run at once in one process (at most one per source). */
  jobsAtOnce: number;
  /** Unfinished jobs (PENDING, IN_PROGRESS) and the bytes of their files, per source and per tenant. */
  sourceJobs: number;
  sourceBytes: number;
  tenantJobs: number;
  tenantBytes: number;
  /** Seconds a job keeps being retried after transient database failures before it ends ERROR. */
  retrySeconds: number;
}

/** People signing in with a password (docs/security.md, "People: passwords and sessions"). */
export interface SessionSettings {
  /** Seconds a session lives without a request. */
  idleSeconds: number;
  /** Seconds a session lives at most, however busy. */
  absoluteSeconds: number;
  /** The session cookie is `Secure` (the console is served over HTTPS: NELM_PUBLIC_URL). */
  secureCookie: boolean;
  /** log2 of scrypt's N for passwords (src/auth/passwords.ts). */
  passwordHashCost: number;
  /** NELM_CONSOLE_REQUIRE_TOTP: org admins signing in by password need a one-time password. */
  requireTotp: boolean;
}

/** Webhooks (docs/events.md, "Webhooks"). */
export interface WebhookSettings {
  /** `http://` URLs as well as `https://`. */
  allowHttp: boolean;
  /** URLs whose host is, or resolves to, a loopback, private, link-local or other non-public address. */
  allowPrivate: boolean;
  /** The waits before each retry, in ms: a delivery is attempted once more than there are waits. */
  retrySchedule: number[];
  /** The most an attempt waits for an answer, in ms. */
  timeoutMs: number;
  /** Endpoints one process delivers to at once. */
  concurrency: number;
  /** Days finished deliveries (succeeded or failed) and their attempts are kept; 0 keeps them for ever. */
  retentionDays: number;
}

/** Prometheus metrics (docs/operations.md, "Metrics"). */
export interface MetricsSettings {
  /** A listener of its own for `/metrics`, without authentication; undefined: none. */
  port: number | undefined;
  host: string;
  /** `/metrics` on the API port for a bearer of this token; undefined: not served there. */
  token: string | undefined;
}

/** Stopping on SIGTERM or SIGINT (docs/operations.md, "Stopping"). */
export interface ShutdownSettings {
  /** Seconds between readiness turning 503 and the listener closing. */
  drainSeconds: number;
  /** Seconds the whole stop may take; past them the process exits non-zero. */
  timeoutSeconds: number;
}

export interface Config {
  port: number;
  host: string;
  /** `sqlite` unless DATABASE_URL is a postgres:// URL. */
  engine: Engine;
  /** A postgres:// URL, or the SQLite file path (`:memory:` allowed). */
  databaseUrl: string;
  /** PostgreSQL schema to use (created if missing); lets tests run in isolation. */
  databaseSchema: string | undefined;
  /**
   * PostgreSQL: run queries as named prepared statements (src/db/postgres.ts). Off for a
   * connection pooler that cannot keep them, such as PgBouncer in transaction mode before 1.21.
   */
  pgPreparedStatements: boolean;
  /** log2 of scrypt's N for API client secrets (src/auth/secrets.ts). */
  secretHashCost: number;
  /** Encrypts the private signing keys at rest (src/auth/key-encryption.ts). */
  keyEncryptionKey: KeySource;
  /** A key being rotated out: it still decrypts, and what it encrypted is encrypted again at start. */
  keyEncryptionKeyPrevious: KeySource | undefined;
  /** Variables that are set but that this version no longer reads: the server warns of each. */
  ignored: string[];
  adminClientId: string | undefined;
  adminClientSecret: string | undefined;
  /** Token lifetime in seconds. */
  tokenTtl: number;
  /** Per API client; `false` when turned off. */
  rateLimit: RateLimit | false;
  /** Locks on failed authentication per client id and per address; `false` when turned off. */
  authThrottle: AuthThrottle | false;
  /**
   * The proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` count (Fastify's `trustProxy`):
   * `true` (every one), a number of hops, or addresses and CIDR ranges; `false`: the connection's
   * address and protocol are the client's.
   */
  trustProxy: boolean | number | string[];
  /** Largest accepted JSON body in bytes. */
  bodyLimit: number;
  /** Seconds a client has to send a whole request (line, headers and body); 0: no limit. */
  requestTimeout: number;
  bulk: BulkQueueSettings;
  logLevel: string;
  /** The tenant everything belongs to while the server serves one tenant. */
  tenant: string;
  /** smtp:// or smtps:// URL of the mail server for notifications; unset: they are logged. */
  smtpUrl: string | undefined;
  /** The From of notification mails. */
  mailFrom: string;
  /** Days events are kept in the audit log before they are pruned; undefined: kept for ever. */
  auditRetentionDays: number | undefined;
  webhooks: WebhookSettings;
  /** Seconds between two looks of the lifecycle's sweep for what fell due (docs/lifecycle.md). */
  lifecycleSweepSeconds: number;
  /** Scheduled CSV exports of every source (src/config/exports.ts); undefined when not configured. */
  exports: ExportSettings | undefined;
  /** Where people reach the server (`NELM_PUBLIC_URL`), when it is set. */
  publicUrl: string | undefined;
  /** Single sign-on for the console (src/config/sign-in.ts); undefined when not configured. */
  oidc: OidcSettings | undefined;
  sessions: SessionSettings;
  metrics: MetricsSettings;
  shutdown: ShutdownSettings;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * The checkout the server runs from (this file is src/config/config.ts, or dist/config/config.js
 * once built): the default SQLite file lives in its `data/`, whatever directory a command runs in.
 */
export const INSTALL_DIR = path.resolve(import.meta.dirname, '..', '..');

const DEFAULTS = {
  port: 8080,
  host: '0.0.0.0',
  sqliteFile: path.join(INSTALL_DIR, 'data', 'nelm.sqlite'),
  tokenTtl: 749,
  secretHashCost: DEFAULT_SECRET_HASH_COST,
  rateLimit: '100/10s',
  authThrottle: '5/30',
  bodyLimit: 1024 * 1024,
  requestTimeout: 120,
  logLevel: 'info',
  tenant: 'default',
  mailFrom: 'NELM <nelm@localhost>',
};

const MIB = 1024 * 1024;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** NAME (the key, base64 or hex) or NAME_FILE (a file holding it); undefined when neither is set. */
function keySource(env: NodeJS.ProcessEnv, name: string, problems: string[]): KeySource | undefined {
  const value = env[name]?.trim() || undefined;
  const file = env[`${name}_FILE`]?.trim() || undefined;
  if (value !== undefined && file !== undefined) problems.push(`${name} and ${name}_FILE exclude each other`);
  if (value !== undefined) {
    const key = decodeKey(value);
    // Never echo the value: it is a secret.
    if (key) return { kind: 'value', key };
    problems.push(`${name} must be 32 bytes as base64 or as 64 hex digits`);
    return undefined;
  }
  return file === undefined ? undefined : { kind: 'file', path: path.resolve(file), create: false };
}

/**
 * Without a configured key: a file key-encryption.key next to the SQLite file (for PostgreSQL, in
 * the checkout's data/), created at first start; a new key per start for an in-memory database.
 */
function defaultKeySource(engine: Engine, databaseUrl: string): KeySource {
  if (engine === 'sqlite' && databaseUrl === ':memory:') return { kind: 'ephemeral' };
  const dir = engine === 'sqlite' ? path.dirname(path.resolve(databaseUrl)) : path.join(INSTALL_DIR, 'data');
  return { kind: 'file', path: path.join(dir, 'key-encryption.key'), create: true };
}

export function parseRateLimit(raw: string): RateLimit | false | undefined {
  const text = raw.trim().toLowerCase();
  if (text === 'off') return false;
  const match = /^(\d+)\s*\/\s*(\d+)\s*s$/.exec(text);
  if (!match) return undefined;
  const max = Number(match[1]);
  const windowSeconds = Number(match[2]);
  if (max < 1 || windowSeconds < 1) return undefined;
  return { max, windowSeconds };
}

export function parseAuthThrottle(raw: string): AuthThrottle | false | undefined {
  const text = raw.trim().toLowerCase();
  if (text === 'off') return false;
  const match = /^(\d+)\s*\/\s*(\d+)$/.exec(text);
  if (!match) return undefined;
  const [clientFailures, addressFailures] = [Number(match[1]), Number(match[2])];
  if (clientFailures < 1 || addressFailures < 1) return undefined;
  return { clientFailures, addressFailures };
}

function parseTrustProxy(raw: string | undefined, problems: string[]): Config['trustProxy'] {
  const text = raw?.trim() ?? '';
  const lower = text.toLowerCase();
  if (text === '' || lower === 'off' || lower === 'false') return false;
  if (lower === 'true') return true;
  if (/^\d+$/.test(text) && Number(text) >= 1 && Number(text) <= 32) return Number(text);
  const entries = text.split(',').map((entry) => entry.trim());
  if (entries.some((entry) => !/^[0-9a-f:.]+(\/\d{1,3})?$/i.test(entry) || !/[.:]/.test(entry))) {
    problems.push(`NELM_TRUST_PROXY must be 'off', 'true', a number of hops (1 to 32) or addresses and CIDR ranges separated by commas, got '${text}'`);
    return false;
  }
  return entries;
}

function metricsSettings(env: NodeJS.ProcessEnv, problems: string[]): MetricsSettings {
  const rawPort = env.NELM_METRICS_PORT?.trim();
  const port = rawPort ? integer('NELM_METRICS_PORT', rawPort, 0, 0, 65535, problems) : undefined;
  const token = env.NELM_METRICS_TOKEN || undefined; // a secret: never echoed
  if (token !== undefined && (token.length < 16 || /\s/.test(token))) problems.push('NELM_METRICS_TOKEN must be at least 16 characters long, without spaces');
  return { port, host: env.NELM_METRICS_HOST?.trim() || '127.0.0.1', token };
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `5s,5m,30m,2h`: durations in ms, each a whole number and a unit (ms, s, m, h), at most a day. */
export function parseSchedule(raw: string): number[] | undefined {
  const waits = raw.split(',').map((part) => {
    const match = /^\s*(\d+)\s*(ms|s|m|h)\s*$/.exec(part);
    return match ? Number(match[1]) * DURATION_UNITS[match[2]!]! : Number.NaN;
  });
  return waits.length <= 20 && waits.every((w) => Number.isFinite(w) && w <= 24 * 3_600_000) ? waits : undefined;
}

function webhookSettings(env: NodeJS.ProcessEnv, problems: string[]): WebhookSettings {
  const raw = env.NELM_WEBHOOK_RETRY_SCHEDULE?.trim() || '5s,5m,30m,2h,5h,10h,10h';
  const retrySchedule = parseSchedule(raw) ?? [];
  if (!parseSchedule(raw))
    problems.push(`NELM_WEBHOOK_RETRY_SCHEDULE must be waits such as '5s,5m,30m,2h' (ms, s, m or h; at most 20, each at most 24h), got '${raw}'`);
  return {
    allowHttp: flag('NELM_WEBHOOK_ALLOW_HTTP', env.NELM_WEBHOOK_ALLOW_HTTP, problems),
    allowPrivate: flag('NELM_WEBHOOK_ALLOW_PRIVATE', env.NELM_WEBHOOK_ALLOW_PRIVATE, problems),
    retrySchedule,
    timeoutMs: 1000 * integer('NELM_WEBHOOK_TIMEOUT', env.NELM_WEBHOOK_TIMEOUT, 10, 1, 60, problems),
    concurrency: integer('NELM_WEBHOOK_CONCURRENCY', env.NELM_WEBHOOK_CONCURRENCY, 16, 1, 256, problems),
    retentionDays: integer('NELM_WEBHOOK_RETENTION_DAYS', env.NELM_WEBHOOK_RETENTION_DAYS, 30, 0, 36_500, problems),
  };
}

/** Builds the configuration from an environment (process.env by default) plus explicit overrides. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const problems: string[] = [];
  const databaseUrl = env.DATABASE_URL?.trim() || DEFAULTS.sqliteFile;
  const engine: Engine = /^postgres(ql)?:\/\//.test(databaseUrl) ? 'postgres' : 'sqlite';
  if (engine === 'sqlite' && /^[a-z]+:\/\//i.test(databaseUrl)) {
    problems.push(`DATABASE_URL must be a postgres:// URL or a SQLite file path, got a ${databaseUrl.split(':')[0]} URL`);
  }
  const schema = env.NELM_DATABASE_SCHEMA?.trim() || undefined;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    problems.push('NELM_DATABASE_SCHEMA must be a lowercase SQL identifier');
  }

  const adminClientId = env.NELM_ADMIN_CLIENT_ID?.trim() || undefined;
  const adminClientSecret = env.NELM_ADMIN_CLIENT_SECRET || undefined;
  if ((adminClientId === undefined) !== (adminClientSecret === undefined)) {
    problems.push('NELM_ADMIN_CLIENT_ID and NELM_ADMIN_CLIENT_SECRET must be set together');
  }
  if (adminClientId !== undefined && !/^[A-Za-z0-9._-]{1,128}$/.test(adminClientId)) {
    problems.push('NELM_ADMIN_CLIENT_ID may hold only letters, digits, dot, dash and underscore (1 to 128)');
  }
  if (adminClientSecret !== undefined && adminClientSecret.length < 16) {
    problems.push('NELM_ADMIN_CLIENT_SECRET must be at least 16 characters long');
  }

  let rateLimit: RateLimit | false = parseRateLimit(DEFAULTS.rateLimit) as RateLimit;
  if (env.NELM_RATE_LIMIT !== undefined && env.NELM_RATE_LIMIT !== '') {
    const parsed = parseRateLimit(env.NELM_RATE_LIMIT);
    if (parsed === undefined) problems.push(`NELM_RATE_LIMIT must look like '100/10s' or be 'off', got '${env.NELM_RATE_LIMIT}'`);
    else rateLimit = parsed;
  }

  let authThrottle: AuthThrottle | false = parseAuthThrottle(DEFAULTS.authThrottle) as AuthThrottle;
  if (env.NELM_AUTH_THROTTLE !== undefined && env.NELM_AUTH_THROTTLE !== '') {
    const parsed = parseAuthThrottle(env.NELM_AUTH_THROTTLE);
    if (parsed === undefined) problems.push(`NELM_AUTH_THROTTLE must look like '5/30' or be 'off', got '${env.NELM_AUTH_THROTTLE}'`);
    else authThrottle = parsed;
  }

  const smtpUrl = env.SMTP_URL?.trim() || undefined;
  if (smtpUrl !== undefined && !/^smtps?:\/\/[^/?#]+/i.test(smtpUrl)) {
    // The URL may hold a password: never echo it.
    problems.push('SMTP_URL must be an smtp:// or smtps:// URL, such as smtp://user:password@mail.example.com:587');
  }
  const mailFrom = env.NELM_MAIL_FROM?.trim() || DEFAULTS.mailFrom;
  if (/[\r\n]/.test(mailFrom) || !/@/.test(mailFrom))
    problems.push('NELM_MAIL_FROM must be one email address, optionally with a name: NELM <nelm@example.com>');

  const prepared = env.NELM_PG_PREPARED_STATEMENTS?.trim().toLowerCase() || 'on';
  if (prepared !== 'on' && prepared !== 'off') problems.push(`NELM_PG_PREPARED_STATEMENTS must be 'on' or 'off', got '${prepared}'`);

  const keyEncryptionKey = keySource(env, 'NELM_KEY_ENCRYPTION_KEY', problems) ?? defaultKeySource(engine, databaseUrl);
  const keyEncryptionKeyPrevious = keySource(env, 'NELM_KEY_ENCRYPTION_KEY_PREVIOUS', problems);

  const publicUrl = env.NELM_PUBLIC_URL?.trim() || undefined;
  if (publicUrl !== undefined && !/^https?:\/\/[^/?#\s]+/i.test(publicUrl))
    problems.push(`NELM_PUBLIC_URL must be an http:// or https:// URL, got '${publicUrl}'`);

  const logLevel = env.NELM_LOG_LEVEL?.trim() || DEFAULTS.logLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`NELM_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  const config: Config = {
    port: integer('PORT', env.PORT, DEFAULTS.port, 0, 65535, problems),
    host: env.HOST?.trim() || DEFAULTS.host,
    engine,
    databaseUrl,
    databaseSchema: schema,
    pgPreparedStatements: prepared !== 'off',
    keyEncryptionKey,
    keyEncryptionKeyPrevious,
    secretHashCost: integer('NELM_SECRET_HASH_COST', env.NELM_SECRET_HASH_COST, DEFAULTS.secretHashCost, 10, 20, problems),
    ignored: RETIRED.filter((name) => env[name] !== undefined && env[name] !== ''),
    adminClientId,
    adminClientSecret,
    tokenTtl: integer('NELM_TOKEN_TTL', env.NELM_TOKEN_TTL, DEFAULTS.tokenTtl, 30, 7 * 24 * 3600, problems),
    rateLimit,
    authThrottle,
    trustProxy: parseTrustProxy(env.NELM_TRUST_PROXY, problems),
    bodyLimit: integer('NELM_BODY_LIMIT', env.NELM_BODY_LIMIT, DEFAULTS.bodyLimit, 1024, 100 * 1024 * 1024, problems),
    requestTimeout: integer('NELM_REQUEST_TIMEOUT', env.NELM_REQUEST_TIMEOUT, DEFAULTS.requestTimeout, 0, 3600, problems),
    bulk: {
      jobsAtOnce: integer('NELM_BULK_JOBS', env.NELM_BULK_JOBS, 3, 1, 64, problems),
      sourceJobs: integer('NELM_BULK_SOURCE_JOBS', env.NELM_BULK_SOURCE_JOBS, 4, 1, 1000, problems),
      sourceBytes: MIB * integer('NELM_BULK_SOURCE_MIB', env.NELM_BULK_SOURCE_MIB, 64, 1, 1024 * 1024, problems),
      tenantJobs: integer('NELM_BULK_TENANT_JOBS', env.NELM_BULK_TENANT_JOBS, 16, 1, 100_000, problems),
      tenantBytes: MIB * integer('NELM_BULK_TENANT_MIB', env.NELM_BULK_TENANT_MIB, 128, 1, 1024 * 1024, problems),
      retrySeconds: integer('NELM_BULK_RETRY_SECONDS', env.NELM_BULK_RETRY_SECONDS, 3600, 0, 7 * 24 * 3600, problems),
    },
    logLevel,
    tenant: DEFAULTS.tenant,
    smtpUrl,
    mailFrom,
    auditRetentionDays: env.NELM_AUDIT_RETENTION_DAYS?.trim()
      ? integer('NELM_AUDIT_RETENTION_DAYS', env.NELM_AUDIT_RETENTION_DAYS, 0, 1, 36_500, problems)
      : undefined,
    webhooks: webhookSettings(env, problems),
    lifecycleSweepSeconds: integer('NELM_LIFECYCLE_SWEEP_SECONDS', env.NELM_LIFECYCLE_SWEEP_SECONDS, 10, 1, 50, problems),
    exports: exportSettings(env, problems),
    publicUrl,
    oidc: oidcSettings(env, publicUrl, problems),
    sessions: {
      idleSeconds: integer('NELM_SESSION_IDLE_TIMEOUT', env.NELM_SESSION_IDLE_TIMEOUT, 30 * 60, 1, 7 * 24 * 3600, problems),
      absoluteSeconds: integer('NELM_SESSION_ABSOLUTE_TIMEOUT', env.NELM_SESSION_ABSOLUTE_TIMEOUT, 12 * 3600, 1, 30 * 24 * 3600, problems),
      secureCookie: publicUrl !== undefined && /^https:/i.test(publicUrl),
      passwordHashCost: integer('NELM_PASSWORD_HASH_COST', env.NELM_PASSWORD_HASH_COST, DEFAULT_PASSWORD_HASH_COST, 10, 17, problems),
      requireTotp: flag('NELM_CONSOLE_REQUIRE_TOTP', env.NELM_CONSOLE_REQUIRE_TOTP, problems),
    },
    metrics: metricsSettings(env, problems),
    shutdown: {
      drainSeconds: integer('NELM_SHUTDOWN_DRAIN', env.NELM_SHUTDOWN_DRAIN, 0, 0, 300, problems),
      timeoutSeconds: integer('NELM_SHUTDOWN_TIMEOUT', env.NELM_SHUTDOWN_TIMEOUT, 30, 1, 3600, problems),
    },
    ...overrides,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}
