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
import { RecordRepository } from './modules/records/repository.js';
import { RecordService } from './modules/records/service.js';
import { NotificationRepository } from './modules/notifications/repository.js';
import { NotificationSender } from './modules/notifications/sender.js';
import { RequestRepository } from './modules/requests/repository.js';
import { RequestService } from './modules/requests/service.js';
import { ApprovalRepository } from './modules/approvals/repository.js';
import { ApprovalService } from './modules/approvals/service.js';
import { ApprovalWorkflow } from './modules/approvals/workflow.js';
import { BulkRepository } from './modules/bulk/repository.js';
import { BulkService } from './modules/bulk/service.js';
import { BulkJobRunner } from './modules/bulk/runner.js';

export interface Services {
  directory: DirectoryService;
  tokens: TokenService;
  sources: SourceService;
  attributes: SchemaAttributeService;
  records: RecordService;
  requests: RequestService;
  approvals: ApprovalService;
  /** Delivers the notification outbox; the app starts and stops it. */
  notifications: NotificationSender;
  bulk: BulkService;
  /** Runs the bulk upload jobs; the app starts and stops it. */
  bulkJobs: BulkJobRunner;
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
  const attributeRepository = new SchemaAttributeRepository(db.kysely);
  const attributes = new SchemaAttributeService(attributeRepository, sources);
  const records = new RecordService(new RecordRepository(db.kysely, db.eachRow, db.readFirst, db.recordCache), attributeRepository, sources, directory);
  const outbox = new NotificationRepository(db.kysely, db.engine);
  const notifications = new NotificationSender(outbox, { smtpUrl: config.smtpUrl, from: config.mailFrom });
  const workflow = new ApprovalWorkflow(new RequestRepository(db.kysely), new ApprovalRepository(db.kysely), records, outbox, directory);
  const requests = new RequestService(workflow.requests, workflow, records, sources, directory, notifications);
  const approvals = new ApprovalService(workflow.items, workflow, attributeRepository, directory, notifications);
  const bulkRepository = new BulkRepository(db.kysely, db.engine);
  const bulk = new BulkService(bulkRepository, attributeRepository, sources);
  const bulkJobs = new BulkJobRunner(bulkRepository, records.repo, attributeRepository);
  bulk.onQueued = () => bulkJobs.wake();
  return { services: { directory, tokens, sources, attributes, records, requests, approvals, notifications, bulk, bulkJobs }, generatedAdmin: admin.generated };
}
