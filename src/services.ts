/**
 * The domain services wired to their repositories over one database. The HTTP app and the CLI
 * both build them here. A module calls another module's service, never its repository; where two
 * modules need each other, the later one is reached through a function given here (a source's new
 * system attributes, a deleted attribute's values in the records, the sources naming a group).
 */
import { loadKeyRing } from './auth/key-encryption.js';
import { PasswordHasher } from './auth/passwords.js';
import { SecretHasher } from './auth/secrets.js';
import { TokenService } from './auth/tokens.js';
import type { Config } from './config/config.js';
import type { Db } from './db/dialect.js';
import { type Clock, systemClock } from './domain/clock.js';
import { migrateToLatest } from './db/migrate.js';
import { BulkRepository } from './modules/bulk/repository.js';
import { BulkJobRunner } from './modules/bulk/runner.js';
import { BulkService } from './modules/bulk/service.js';
import type { ClientCredentials } from './modules/directory/model.js';
import { DirectoryRepository } from './modules/directory/repository.js';
import { DirectoryService } from './modules/directory/service.js';
import { EventConsumers } from './modules/events/consumers.js';
import { MailConsumer } from './modules/notifications/mails.js';
import { CursorRepository } from './modules/events/cursor-repository.js';
import { EventRepository } from './modules/events/repository.js';
import { EventLog } from './modules/events/service.js';
import { LifecycleConsumer } from './modules/lifecycle/mails.js';
import { LifecycleRepository } from './modules/lifecycle/repository.js';
import { LifecycleService } from './modules/lifecycle/service.js';
import { LifecycleSweep } from './modules/lifecycle/sweep.js';
import { NotificationRepository } from './modules/notifications/repository.js';
import { NotificationService } from './modules/notifications/service.js';
import { RecordRepository } from './modules/records/repository.js';
import { RecordService } from './modules/records/service.js';
import { ApprovalService } from './modules/requests/approvals.js';
import { RequestRepository } from './modules/requests/repository.js';
import { RequestService } from './modules/requests/service.js';
import { ApprovalWorkflow } from './modules/requests/workflow.js';
import { SessionRepository } from './modules/sessions/repository.js';
import { SessionService } from './modules/sessions/service.js';
import { TotpRepository } from './modules/sessions/totp-repository.js';
import { TotpService } from './modules/sessions/totp.js';
import { SchemaAttributeRepository } from './modules/schema-attributes/repository.js';
import { SchemaAttributeService } from './modules/schema-attributes/service.js';
import { SourceRepository } from './modules/sources/repository.js';
import { SourceService } from './modules/sources/service.js';
import { systemResolver } from './modules/webhooks/address.js';
import { webhookConsumer } from './modules/webhooks/consumer.js';
import { WebhookDeliveries } from './modules/webhooks/delivery.js';
import { WebhookRepository } from './modules/webhooks/repository.js';
import { WebhookService } from './modules/webhooks/service.js';

export interface Services {
  /** The event log: changes append to it in their transactions; the audit trail reads it. */
  events: EventLog;
  directory: DirectoryService;
  tokens: TokenService;
  /** People's passwords and console sessions. */
  sessions: SessionService;
  sources: SourceService;
  attributes: SchemaAttributeService;
  records: RecordService;
  requests: RequestService;
  approvals: ApprovalService;
  /** Writes and delivers notifications; the app starts and stops its delivery. */
  notifications: NotificationService;
  bulk: BulkService;
  /** Runs the bulk upload jobs; the app starts and stops it. */
  bulkJobs: BulkJobRunner;
  /** Read the event log, each with its cursors (the webhooks'); the app starts and stops them. */
  consumers: EventConsumers;
  webhooks: WebhookService;
  /** Sends the webhooks' deliveries; the app starts and stops it. */
  webhookDeliveries: WebhookDeliveries;
  /** The lifecycle policy, and the lifecycle's part in record writes and decisions. */
  lifecycle: LifecycleService;
  /** Does what falls due (expiry, reminders, retention, digests); the app starts and stops it. */
  lifecycleSweep: LifecycleSweep;
}

export interface Core {
  services: Services;
  /** Set when this start generated the admin client: print it once. */
  generatedAdmin: ClientCredentials | undefined;
}

/**
 * Migrates the database, loads the signing keys, makes sure the admin exists, wires the services;
 * one process at a time (processes starting at once on a new database would each create the
 * admin client and a signing key of their own).
 */
export async function createCore(config: Config, db: Db, clock: Clock = systemClock): Promise<Core> {
  return db.exclusively(() => wire(config, db, clock));
}

async function wire(config: Config, db: Db, clock: Clock): Promise<Core> {
  await migrateToLatest(db.kysely, db.engine, db.schema);
  const k = db.kysely;
  // Bound below; the functions that reach them run only after createCore returns.
  let sources: SourceService | undefined;
  let attributes: SchemaAttributeService | undefined;
  let records: RecordService | undefined;

  const events = new EventLog(k, new EventRepository(db.dialect));
  const directory = new DirectoryService(
    k,
    new DirectoryRepository(db.dialect),
    new SecretHasher(config.secretHashCost),
    (tenantId, id) => sources!.naming(tenantId, id),
    events,
  );
  const tokens = new TokenService(k, config.tokenTtl, loadKeyRing(config.keyEncryptionKey, config.keyEncryptionKeyPrevious));
  await tokens.init();
  const admin = await directory.bootstrapAdmin(
    config.tenant,
    config.adminClientId && config.adminClientSecret ? { clientId: config.adminClientId, clientSecret: config.adminClientSecret } : undefined,
  );
  const totp = new TotpService(k, new TotpRepository(), directory, events, tokens.keyRing, config.sessions.requireTotp);
  await totp.init();
  const sessions = new SessionService(
    k,
    new SessionRepository(),
    directory,
    events,
    new PasswordHasher(config.sessions.passwordHashCost),
    config.sessions,
    totp,
  );
  sources = new SourceService(k, new SourceRepository(), directory, events, (trx, tenantId, sourceId, now) =>
    attributes!.createSystemAttributes(trx, tenantId, sourceId, now),
  );
  attributes = new SchemaAttributeService(
    k,
    new SchemaAttributeRepository(),
    sources,
    (trx, tenantId, sourceId, names) => records!.removeCustomValues(trx, tenantId, sourceId, names),
    events,
  );
  records = new RecordService(k, new RecordRepository(db.dialect), attributes, sources, directory, events);
  const notifications = new NotificationService(k, new NotificationRepository(db.dialect), directory, { smtpUrl: config.smtpUrl, from: config.mailFrom });
  const requestRepository = new RequestRepository();
  const workflow = new ApprovalWorkflow(requestRepository, records);
  const requests = new RequestService(k, requestRepository, workflow, records, sources, directory, events, clock);
  const approvals = new ApprovalService(k, requestRepository, workflow, attributes, directory, events, clock);
  const bulkRepository = new BulkRepository(db.dialect);
  const bulkJobs = new BulkJobRunner(k, bulkRepository, { records, attributes, sources, directory, events }, { ...config.bulk, soleProcess: !db.shared });
  const bulk = new BulkService(k, bulkRepository, attributes, sources, records, config.bulk);
  bulk.onQueued = () => bulkJobs.wake();
  const webhookRepository = new WebhookRepository(db.dialect);
  const webhookOptions = { ...config.webhooks, resolve: systemResolver };
  const webhooks = new WebhookService(k, webhookRepository, events, tokens.keyRing, webhookOptions);
  await webhooks.init();
  const webhookDeliveries = new WebhookDeliveries(k, webhookRepository, tokens.keyRing, events, { ...webhookOptions, soleProcess: !db.shared });
  webhooks.onDeliveries = () => webhookDeliveries.wake();
  const consumers = new EventConsumers(k, new EventRepository(db.dialect), new CursorRepository(db.dialect));
  consumers.add(webhookConsumer(webhookRepository, () => webhookDeliveries.wake()));
  consumers.add(new MailConsumer(notifications, directory));
  notifications.beforeDrain = () => consumers.drain('mails');
  const lifecycleRepository = new LifecycleRepository(db.dialect);
  const lifecycle = new LifecycleService(k, lifecycleRepository, sources, events, approvals, clock);
  records.lifecycle = lifecycle;
  const lifecycleSweep = new LifecycleSweep(k, lifecycleRepository, lifecycle, { records, sources, approvals, notifications }, events, {
    intervalMs: config.lifecycleSweepSeconds * 1000,
  });
  lifecycle.onDueNow = () => lifecycleSweep.wake();
  consumers.add(new LifecycleConsumer(lifecycle, lifecycleRepository, notifications, directory, sources));
  events.onAppend(() => consumers.wake());
  return {
    services: {
      events,
      directory,
      tokens,
      sessions,
      sources,
      attributes,
      records,
      requests,
      approvals,
      notifications,
      bulk,
      bulkJobs,
      consumers,
      webhooks,
      webhookDeliveries,
      lifecycle,
      lifecycleSweep,
    },
    generatedAdmin: admin.generated,
  };
}
