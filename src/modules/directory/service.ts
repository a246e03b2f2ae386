/**
 * The directory: identities, their API clients and governance groups. SailPoint keeps these in
 * its identity platform; a self-hosted NELM needs its own. No HTTP here.
 */
import type { Kysely } from 'kysely';
import type { Principal, Right } from '../../auth/principal.js';
import { type SecretHasher, newId, newSecret } from '../../auth/secrets.js';
import { type Exec, transaction } from '../../db/dialect.js';
import { uniqueViolation } from '../../db/errors.js';
import type { Database } from '../../db/types.js';
import { nowIso } from '../../domain/ids.js';
import { assertThat, fail } from '../../errors/api-error.js';
import { type Actor, type Changes, changesOf } from '../events/model.js';
import type { EventLog } from '../events/service.js';
import type { ClientCredentials, Identity, Member } from './model.js';
import type { DirectoryRepository } from './repository.js';
import { refuseControlCharacters } from './validation.js';
import { type GroupReferences, logDirectoryEvent, WorkgroupService } from './workgroups.js';

export interface NewIdentity {
  alias: string;
  name?: string | null | undefined;
  email?: string | null | undefined;
  admin?: boolean | undefined;
  rights?: readonly Right[] | undefined;
}

export const ADMIN_ALIAS = 'admin';

const CLIENT_STATUS_TTL_MS = 5000;

/** An API client whose secret matched: its tenant and identity. */
export interface Authenticated {
  tenantId: string;
  identity: Identity;
}

export class DirectoryService {
  private readonly clientStatus = new Map<string, { active: boolean; until: number }>();
  /** What an unknown client id's secret is checked against (made at the first such request). */
  private unknownClientHash: Promise<string> | undefined;

  /** Governance groups. */
  readonly workgroups: WorkgroupService;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly repo: DirectoryRepository,
    private readonly secrets: SecretHasher,
    groupReferences: GroupReferences,
    private readonly events: EventLog,
  ) {
    this.workgroups = new WorkgroupService(db, repo, groupReferences, events);
  }

  private logEvent(trx: Exec, tenantId: string, actor: Actor, type: string, id: string, object: unknown, changes?: Changes): Promise<unknown> {
    return logDirectoryEvent(this.events, trx, tenantId, actor, type, id, object, changes);
  }

  /** Creates an identity; `actor` is who asks (null: the server, or the command line on its host). */
  async createIdentity(tenantId: string, input: NewIdentity, actor: Actor = null): Promise<Identity> {
    refuseControlCharacters({ alias: input.alias, name: input.name, email: input.email });
    const identity: Identity = {
      id: newId(),
      alias: input.alias,
      name: input.name ?? null,
      email: input.email ?? null,
      admin: input.admin ?? false,
      rights: [...new Set(input.rights ?? [])],
      disabled: false,
    };
    try {
      await transaction(this.db, async (trx) => {
        await this.repo.insertIdentity(trx, tenantId, identity, nowIso());
        await this.logEvent(trx, tenantId, actor, 'identity.created', identity.id, identity);
      });
    } catch (error) {
      if (uniqueViolation(error) === 'identities_alias_key') throw fail.referenceConflict(`An identity with alias "${input.alias}" already exists.`, 'alias');
      throw error;
    }
    return identity;
  }

  /**
   * Changes an identity's name, email, admin flag, rights or whether it is disabled; its sessions
   * see the change at once, its tokens when they are next issued, except that a disabled identity's
   * tokens are refused at once in this process and within `CLIENT_STATUS_TTL_MS` in the others. The
   * tenant keeps at least one enabled org admin.
   */
  async updateIdentity(
    tenantId: string,
    id: string,
    changes: Partial<Pick<Identity, 'name' | 'email' | 'admin' | 'rights' | 'disabled'>>,
    actor: Actor,
  ): Promise<Identity> {
    refuseControlCharacters({ name: changes.name, email: changes.email });
    const updated = await transaction(this.db, async (trx) => {
      const identity = await this.repo.identityById(trx, tenantId, id);
      assertThat(identity, () => fail.notFound(`Identity ${id} was not found.`));
      const next: Identity = {
        ...identity,
        name: changes.name === undefined ? identity.name : changes.name,
        email: changes.email === undefined ? identity.email : changes.email,
        admin: changes.admin ?? identity.admin,
        rights: changes.rights ? [...new Set(changes.rights)] : identity.rights,
        disabled: changes.disabled ?? identity.disabled,
      };
      const adminTaken = identity.admin && !identity.disabled && (!next.admin || next.disabled);
      if (adminTaken && (await this.repo.countEnabledAdmins(trx, tenantId)) <= 1) {
        const text = next.disabled ? 'disabled cannot be true' : 'admin cannot be false';
        throw fail.invalid([{ field: next.disabled ? 'disabled' : 'admin', text: `${text}: the tenant would have no enabled org admin left` }]);
      }
      const changed = changesOf(identity, next, ['name', 'email', 'admin', 'rights', 'disabled']);
      if (Object.keys(changed).length === 0) return identity;
      await this.repo.updateIdentity(trx, tenantId, next, nowIso());
      await this.logEvent(trx, tenantId, actor, 'identity.updated', id, next, changed);
      return next;
    });
    // Every client's status is read again: a disabled identity's tokens stop, an enabled one's work, at once here.
    if (changes.disabled !== undefined) this.clientStatus.clear();
    return updated;
  }

  listIdentities(tenantId: string, limit: number, offset: number): Promise<Identity[]> {
    return this.repo.listIdentities(this.db, tenantId, limit, offset);
  }

  countIdentities(tenantId: string): Promise<number> {
    return this.repo.countIdentities(this.db, tenantId);
  }

  identityById(tenantId: string, id: string): Promise<Identity | undefined> {
    return this.repo.identityById(this.db, tenantId, id);
  }

  identityByAlias(tenantId: string, alias: string): Promise<Identity | undefined> {
    return this.repo.identityByAlias(this.db, tenantId, alias);
  }

  /** Identities whose alias, name or email holds `text`: what a person picking one needs. */
  searchIdentities(tenantId: string, text: string, limit: number): Promise<Identity[]> {
    return this.repo.searchIdentities(this.db, tenantId, text, limit);
  }

  /** Governance groups whose name holds `text` (id and name): what a person picking one needs. */
  searchWorkgroups(tenantId: string, text: string, limit: number): Promise<{ id: string; name: string }[]> {
    return this.repo.searchWorkgroups(this.db, tenantId, text, limit);
  }

  /** The identities and governance groups that `ids` (at most 500) name; unknown ids are left out. */
  people(tenantId: string, ids: readonly string[]): Promise<{ identities: Identity[]; groups: { id: string; name: string }[] }> {
    return this.repo.people(this.db, tenantId, ids);
  }

  /** The identity a person signs in as: by alias, else by email when exactly one identity has it. */
  async identityByUsername(tenantId: string, username: string): Promise<Identity | undefined> {
    const byAlias = await this.identityByAlias(tenantId, username);
    if (byAlias || !username.includes('@')) return byAlias;
    const byEmail = await this.repo.identitiesByEmail(this.db, tenantId, username);
    return byEmail.length === 1 ? byEmail[0] : undefined;
  }

  /** The one identity with this email (any case); undefined when none or several have it. */
  async identityByEmail(tenantId: string, email: string): Promise<Identity | undefined> {
    const found = await this.repo.identitiesByEmail(this.db, tenantId, email);
    return found.length === 1 ? found[0] : undefined;
  }

  /** The identity or a 404. */
  async findIdentity(tenantId: string, id: string): Promise<Identity> {
    const identity = await this.identityById(tenantId, id);
    assertThat(identity, () => fail.notFound(`Identity ${id} was not found.`));
    return identity;
  }

  /** The aliases among `aliases` (empty ones ignored) that name identities. */
  knownAliases(tenantId: string, aliases: Iterable<string>): Promise<Set<string>> {
    return this.repo.knownAliases(
      this.db,
      tenantId,
      [...new Set(aliases)].filter((a) => a !== ''),
    );
  }

  /** Email addresses by identity id; identities without one, or gone, are left out. */
  emails(tenantId: string, ids: readonly string[]): Promise<Map<string, string>> {
    return this.repo.emails(this.db, tenantId, [...new Set(ids)]);
  }

  /** Display names by identity id (the alias where an identity has no name); gone ones are left out. */
  names(tenantId: string, ids: readonly string[]): Promise<Map<string, string>> {
    return this.repo.names(this.db, tenantId, [...new Set(ids)]);
  }

  missingIdentities(tenantId: string, ids: readonly string[]): Promise<string[]> {
    return this.repo.missingIdentities(this.db, tenantId, ids);
  }

  missingWorkgroups(tenantId: string, ids: readonly string[]): Promise<string[]> {
    return this.repo.missingWorkgroups(this.db, tenantId, ids);
  }

  /** The ids the caller acts as: itself and every governance group it belongs to. */
  async actorIds(principal: Pick<Principal, 'tenantId' | 'identityId'>): Promise<string[]> {
    return [principal.identityId, ...(await this.repo.groupsOf(this.db, principal.tenantId, principal.identityId))];
  }

  /** The identities a member stands for: itself, or the members of a governance group (in `db`, a caller's transaction). */
  async identitiesOf(db: Exec, tenantId: string, member: Member): Promise<string[]> {
    if (member.type === 'IDENTITY') return [member.id];
    return (await this.repo.membersOf(db, tenantId, [member.id])).get(member.id) ?? [];
  }

  // API clients -------------------------------------------------------------------------------

  /** Creates an API client for an identity; the secret is returned once and stored hashed. */
  async createClient(tenantId: string, identityId: string, actor: Actor = null, wanted?: ClientCredentials): Promise<ClientCredentials> {
    await this.findIdentity(tenantId, identityId);
    if (wanted) refuseControlCharacters({ clientId: wanted.clientId });
    const credentials = wanted ?? { clientId: newId(), clientSecret: newSecret() };
    const hash = await this.secrets.hash(credentials.clientSecret);
    try {
      await transaction(this.db, async (trx) => {
        const created = nowIso();
        await this.repo.insertClient(trx, tenantId, credentials.clientId, identityId, hash, created);
        await this.logEvent(trx, tenantId, actor, 'client.created', credentials.clientId, { clientId: credentials.clientId, identityId, created });
      });
    } catch (error) {
      if (uniqueViolation(error)) throw fail.referenceConflict(`A client with id "${credentials.clientId}" already exists.`, 'clientId');
      throw error;
    }
    return credentials;
  }

  /**
   * Makes sure the tenant and its org-admin identity `admin` exist and, when credentials are
   * configured, that the admin owns that client with that secret. With no credentials configured
   * and no admin yet, generates a client: the caller prints it once.
   */
  async bootstrapAdmin(tenantId: string, configured?: ClientCredentials): Promise<{ generated?: ClientCredentials; identity: Identity }> {
    await this.repo.ensureTenant(this.db, tenantId, nowIso());
    let identity = await this.identityByAlias(tenantId, ADMIN_ALIAS);
    const fresh = !identity;
    if (!identity) {
      try {
        identity = await this.createIdentity(tenantId, { alias: ADMIN_ALIAS, name: 'Organization Administrator', admin: true }, null);
      } catch (error) {
        // Another process on the same database created it first.
        identity = await this.identityByAlias(tenantId, ADMIN_ALIAS);
        if (!identity) throw error;
      }
    }
    if (configured) {
      const existing = await this.repo.clientWithIdentity(this.db, configured.clientId);
      if (!existing) await this.createClient(tenantId, identity.id, null, configured);
      else if (!(await this.secrets.verify(configured.clientSecret, existing.secretHash))) {
        const hash = await this.secrets.hash(configured.clientSecret);
        await transaction(this.db, async (trx) => {
          await this.repo.updateClientSecret(trx, configured.clientId, hash);
          const object = { clientId: configured.clientId, identityId: identity.id };
          await this.logEvent(trx, tenantId, null, 'client.secret_changed', configured.clientId, object);
        });
      }
      return { identity };
    }
    if (fresh) return { identity, generated: await this.createClient(tenantId, identity.id, null) };
    return { identity };
  }

  /**
   * Checks an API client's secret. An unknown client id costs the same work as a wrong secret (a
   * check against a hash of a secret nobody knows), so that answers' timing does not tell which
   * client ids exist. A disabled identity is told only to whoever knows the secret.
   */
  async authenticate(clientId: string, clientSecret: string): Promise<Authenticated | 'unknown_client' | 'wrong_secret' | 'identity_disabled'> {
    const client = await this.repo.clientWithIdentity(this.db, clientId);
    if (!client) {
      this.unknownClientHash ??= this.secrets.hash(newSecret());
      await this.secrets.verify(clientSecret, await this.unknownClientHash);
      return 'unknown_client';
    }
    if (!(await this.secrets.verify(clientSecret, client.secretHash))) return 'wrong_secret';
    if (client.identity.disabled) return 'identity_disabled';
    return { tenantId: client.tenantId, identity: client.identity };
  }

  /**
   * Whether tokens of this client are still honoured: false once the client is deleted or its
   * identity disabled. Answers are cached for a few seconds, so either takes effect at once in this
   * process and within `CLIENT_STATUS_TTL_MS` in the others on the same database.
   */
  async isClientActive(clientId: string): Promise<boolean> {
    const cached = this.cachedClientActive(clientId);
    if (cached !== undefined) return cached;
    const active = await this.repo.clientActive(this.db, clientId);
    if (this.clientStatus.size > 10_000) this.clientStatus.clear();
    this.clientStatus.set(clientId, { active, until: Date.now() + CLIENT_STATUS_TTL_MS });
    return active;
  }

  /** `isClientActive`'s cached answer, when it is fresh. */
  cachedClientActive(clientId: string): boolean | undefined {
    const cached = this.clientStatus.get(clientId);
    return cached && cached.until > Date.now() ? cached.active : undefined;
  }

  listClients(tenantId: string, identityId: string): Promise<{ clientId: string; created: string }[]> {
    return this.repo.listClients(this.db, tenantId, identityId);
  }

  /** Deletes an API client: its tokens stop working. */
  async deleteClient(tenantId: string, clientId: string, actor: Actor): Promise<void> {
    const deleted = await transaction(this.db, async (trx) => {
      const client = await this.repo.clientWithIdentity(trx, clientId);
      if (!client || client.tenantId !== tenantId || !(await this.repo.deleteClient(trx, tenantId, clientId))) return false;
      await this.logEvent(trx, tenantId, actor, 'client.deleted', clientId, { clientId, identityId: client.identity.id });
      return true;
    });
    this.clientStatus.set(clientId, { active: false, until: Date.now() + CLIENT_STATUS_TTL_MS });
    assertThat(deleted, () => fail.notFound(`API client ${clientId} was not found.`));
  }
}
