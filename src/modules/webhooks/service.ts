/**
 * Webhook endpoints (docs/events.md, "Webhooks"): registered, changed and deleted by org admins
 * (the routes check it), each change writing its `webhook.*` event in its transaction. A secret is
 * shown once, when the endpoint is created or its secret rotated, and stored sealed under the
 * key-encryption key. URLs are checked when registered (address.ts) and again at every delivery.
 */
import type { Kysely } from 'kysely';
import { KeyRing, UnknownKeyError } from '../../auth/key-encryption.js';
import type { Principal } from '../../auth/principal.js';
import { type Exec, transaction } from '../../db/dialect.js';
import type { Database, WebhookTable } from '../../db/types.js';
import { newUuid, nowIso } from '../../domain/ids.js';
import { assertThat, fail } from '../../errors/api-error.js';
import { actorOf, changesOf } from '../events/model.js';
import type { EventLog } from '../events/service.js';
import { type Resolver, resolveTarget, type UrlRules, urlProblem } from './address.js';
import { type Delivery, envelope, secretContext, toWebhook, type Webhook, type WebhookWithSecret } from './model.js';
import type { WebhookRepository } from './repository.js';
import { newSecret } from './signature.js';

export interface WebhookInput {
  url: string;
  events: string[];
  description?: string | null | undefined;
}

export interface WebhookPatch {
  url?: string | undefined;
  events?: string[] | undefined;
  description?: string | null | undefined;
  enabled?: boolean | undefined;
}

export interface WebhookOptions extends UrlRules {
  resolve: Resolver;
}

/** Endpoints per tenant at most. */
export const MAX_WEBHOOKS = 50;
/** How long a rotated-out secret keeps signing beside the new one. */
export const PREVIOUS_SECRET_MS = 24 * 3600 * 1000;
const FIELDS = ['url', 'events', 'description', 'enabled'] as const;

export class WebhookService {
  /** Called after a commit that made deliveries due (the delivery worker's wake). */
  onDeliveries: () => void = () => undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly repo: WebhookRepository,
    private readonly events: EventLog,
    private readonly keyRing: KeyRing,
    private readonly options: WebhookOptions,
  ) {}

  /**
   * Seals again, under the current key-encryption key, the secrets sealed under the previous one.
   * A secret sealed under a key this server was not given is left as it is: deliveries to its
   * endpoint fail, saying so, until its secret is rotated.
   */
  async init(): Promise<void> {
    for (const row of await this.repo.secrets(this.db)) {
      const context = secretContext(row.tenant_id, row.id);
      const reseal = (sealed: string | null): string | null => {
        if (sealed === null || KeyRing.sealedWith(sealed) === this.keyRing.currentId) return sealed;
        try {
          return this.keyRing.seal(this.keyRing.open(sealed, context), context);
        } catch (error) {
          if (error instanceof UnknownKeyError) return sealed;
          throw error;
        }
      };
      const secret = reseal(row.secret)!;
      const previous = reseal(row.previous_secret);
      if (secret !== row.secret || previous !== row.previous_secret)
        await this.repo.update(this.db, row.tenant_id, row.id, { secret, previous_secret: previous });
    }
  }

  /** A 400 naming `url` when it may not be a webhook's: its form, its scheme, the addresses its host resolves to. */
  private async checkUrl(text: string): Promise<string> {
    const problem = urlProblem(text, this.options);
    if (problem) throw fail.invalid([{ field: 'url', text: problem }]);
    const url = new URL(text);
    // Private addresses allowed: nothing to check, and the host need not resolve yet.
    if (!this.options.allowPrivate) {
      const resolved = await resolveTarget(url, this.options, this.options.resolve);
      if ('problem' in resolved) throw fail.invalid([{ field: 'url', text: resolved.problem }]);
    }
    return url.href;
  }

  private async found(db: Exec, tenantId: string, id: string, lock = false): Promise<WebhookTable> {
    const row = await this.repo.get(db, tenantId, id, lock);
    assertThat(row, () => fail.notFound(`Webhook ${id} was not found.`));
    return row;
  }

  private event(principal: Principal, type: string, id: string, object: Webhook, changes?: ReturnType<typeof changesOf>) {
    return { type, actor: actorOf(principal), target: { type: 'webhook', id }, data: { object, ...(changes ? { changes } : {}) } };
  }

  async create(principal: Principal, input: WebhookInput): Promise<WebhookWithSecret> {
    const { tenantId } = principal;
    const url = await this.checkUrl(input.url);
    const id = newUuid();
    const secret = newSecret();
    const now = nowIso();
    const row: WebhookTable = {
      tenant_id: tenantId,
      id,
      url,
      events: JSON.stringify([...new Set(input.events)]),
      description: input.description ?? null,
      enabled: 1,
      disabled_reason: null,
      secret: this.keyRing.seal(secret, secretContext(tenantId, id)),
      previous_secret: null,
      previous_secret_until: null,
      owner_id: principal.identityId,
      from_seq: 0,
      failing_since: null,
      lease_until: null,
      claimed_by: null,
      claimed_at: now,
      created: now,
      modified: now,
    };
    const webhook = toWebhook(row);
    await transaction(this.db, async (trx) => {
      if ((await this.repo.count(trx, tenantId)) >= MAX_WEBHOOKS) throw fail.limitViolation(`A tenant may have at most ${MAX_WEBHOOKS} webhooks.`);
      await this.repo.insert(trx, row);
      const [created] = await this.events.append(trx, tenantId, [this.event(principal, 'webhook.created', id, webhook)]);
      // Events from its own creation on are sent to it.
      await this.repo.update(trx, tenantId, id, { from_seq: created!.seq });
    });
    return { ...webhook, secret };
  }

  async list(tenantId: string, limit: number, offset: number, count: boolean): Promise<{ webhooks: Webhook[]; total?: number }> {
    const rows = await this.repo.list(this.db, tenantId, limit, offset);
    const total = count ? await this.repo.count(this.db, tenantId) : undefined;
    return { webhooks: rows.map(toWebhook), ...(total !== undefined ? { total } : {}) };
  }

  async get(tenantId: string, id: string): Promise<Webhook> {
    return toWebhook(await this.found(this.db, tenantId, id));
  }

  async update(principal: Principal, id: string, patch: WebhookPatch): Promise<Webhook> {
    const { tenantId } = principal;
    const url = patch.url === undefined ? undefined : await this.checkUrl(patch.url);
    let resumed = false;
    const after = await transaction(this.db, async (trx) => {
      const row = await this.found(trx, tenantId, id, true);
      const before = toWebhook(row);
      const changed: Partial<WebhookTable> = {
        ...(url !== undefined ? { url } : {}),
        ...(patch.events !== undefined ? { events: JSON.stringify([...new Set(patch.events)]) } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.enabled !== undefined ? { enabled: patch.enabled ? 1 : 0 } : {}),
      };
      const next = toWebhook({ ...row, ...changed });
      const changes = changesOf(before, next, FIELDS);
      if (Object.keys(changes).length === 0) return before;
      // Enabled again: its failures are forgotten, and what waited is sent.
      if (changes.enabled) Object.assign(changed, { disabled_reason: null, failing_since: null });
      resumed = patch.enabled === true;
      const stored = { ...row, ...changed, modified: nowIso() };
      await this.repo.update(trx, tenantId, row.id, { ...changed, modified: stored.modified });
      const object = toWebhook(stored);
      await this.events.append(trx, tenantId, [this.event(principal, 'webhook.updated', row.id, object, changes)]);
      return object;
    });
    if (resumed) this.onDeliveries();
    return after;
  }

  async delete(principal: Principal, id: string): Promise<void> {
    const { tenantId } = principal;
    await transaction(this.db, async (trx) => {
      const row = await this.found(trx, tenantId, id, true);
      await this.repo.delete(trx, tenantId, row.id);
      await this.events.append(trx, tenantId, [this.event(principal, 'webhook.deleted', row.id, toWebhook(row))]);
    });
  }

  /** A new secret; the old one signs beside it for 24 hours. */
  async rotateSecret(principal: Principal, id: string): Promise<WebhookWithSecret> {
    const { tenantId } = principal;
    const secret = newSecret();
    return transaction(this.db, async (trx) => {
      const row = await this.found(trx, tenantId, id, true);
      const now = Date.now();
      const changed = {
        secret: this.keyRing.seal(secret, secretContext(tenantId, row.id)),
        previous_secret: row.secret,
        previous_secret_until: new Date(now + PREVIOUS_SECRET_MS).toISOString(),
        modified: new Date(now).toISOString(),
      };
      await this.repo.update(trx, tenantId, row.id, changed);
      const webhook = toWebhook({ ...row, ...changed });
      await this.events.append(trx, tenantId, [this.event(principal, 'webhook.secret_rotated', row.id, webhook)]);
      return { ...webhook, secret };
    });
  }

  async deliveries(tenantId: string, id: string, limit: number, offset: number, count: boolean): Promise<{ deliveries: Delivery[]; total?: number }> {
    const row = await this.found(this.db, tenantId, id);
    const deliveries = await this.repo.deliveries(this.db, tenantId, row.id, limit, offset);
    const total = count ? await this.repo.countDeliveries(this.db, tenantId, row.id) : undefined;
    return { deliveries, ...(total !== undefined ? { total } : {}) };
  }

  /** Sends a delivery again now, whatever its status, with the same `webhook-id`. */
  async retry(tenantId: string, id: string, deliveryId: string): Promise<Delivery> {
    const row = await this.found(this.db, tenantId, id);
    const delivery = await this.repo.delivery(this.db, tenantId, row.id, deliveryId);
    assertThat(delivery, () => fail.notFound(`Delivery ${deliveryId} of webhook ${id} was not found.`));
    await this.repo.redeliver(this.db, tenantId, row.id, delivery.id, nowIso());
    this.onDeliveries();
    return (await this.repo.delivery(this.db, tenantId, row.id, delivery.id))!;
  }

  /** Sends a `webhook.test` message to the endpoint (not an event of the log). */
  async test(principal: Principal, id: string): Promise<Delivery> {
    const { tenantId } = principal;
    const row = await this.found(this.db, tenantId, id);
    if (!row.enabled) throw fail.badRequest(`Webhook ${id} is disabled: enable it (PATCH {"enabled": true}) before testing it.`);
    const now = nowIso();
    const eventId = newUuid();
    const payload = envelope({
      id: eventId,
      type: 'webhook.test',
      time: now,
      actor: actorOf(principal),
      target: { type: 'webhook', id: row.id, sourceId: null },
      data: JSON.stringify({ object: toWebhook(row) }),
    });
    const deliveryId = newUuid();
    await this.repo.insertDeliveries(this.db, [
      {
        tenant_id: tenantId,
        id: deliveryId,
        webhook_id: row.id,
        event_id: eventId,
        event_type: 'webhook.test',
        payload,
        status: 'PENDING',
        attempts: 0,
        next_attempt_at: now,
        last_attempt_at: null,
        created: now,
      },
    ]);
    this.onDeliveries();
    return (await this.repo.delivery(this.db, tenantId, row.id, deliveryId))!;
  }
}
