/**
 * The directory: identities, their API clients and governance groups. SailPoint keeps these in
 * its identity platform; a self-hosted NELM needs its own. No HTTP here.
 */
import type { Kysely } from 'kysely';
import type { Principal, Right } from '../../auth/principal.js';
import { type SecretHasher, newId, newSecret } from '../../auth/secrets.js';
import { type Exec, transaction } from '../../db/dialect.js';
import { isForeignKeyViolation, uniqueViolation } from '../../db/errors.js';
import type { Database } from '../../db/types.js';
import { nowIso } from '../../domain/ids.js';
import { assertThat, fail } from '../../errors/api-error.js';
import { type Actor, type Changes, changesOf, type EventInput } from '../events/model.js';
import type { EventLog } from '../events/service.js';
import type { ClientCredentials, Identity, Member, Workgroup } from './model.js';
import type { DirectoryRepository } from './repository.js';
import { refuseControlCharacters } from './validation.js';

export interface NewIdentity {
  alias: string;
  name?: string | null | undefined;
  email?: string | null | undefined;
  admin?: boolean | undefined;
  rights?: readonly Right[] | undefined;
}

export interface WorkgroupInput {
  name: string;
  description?: string | null | undefined;
  members: readonly string[];
}

/** The sources that name a governance group as approver or account manager (the sources module answers). */
export type GroupReferences = (tenantId: string, groupId: string) => Promise<string[]>;

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

  constructor(
    private readonly db: Kysely<Database>,
    private readonly repo: DirectoryRepository,
    private readonly secrets: SecretHasher,
    private readonly groupReferences: GroupReferences,
    private readonly events: EventLog,
  ) {}

  /** Appends one event about a directory object, in the caller's transaction. */
  private logEvent(trx: Exec, tenantId: string, actor: Actor, type: string, id: string, object: unknown, changes?: Changes): Promise<unknown> {
    const [kind] = type.split('.');
    const event: EventInput = { type, actor, target: { type: kind!, id }, data: changes ? { object, changes } : { object } };
    return this.events.append(trx, tenantId, [event]);
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

  /** Changes an identity's name, email, admin flag or rights; its sessions see the change at once, its tokens when they are next issued. */
  async updateIdentity(tenantId: string, id: string, changes: Partial<Pick<Identity, 'name' | 'email' | 'admin' | 'rights'>>, actor: Actor): Promise<Identity> {
    refuseControlCharacters({ name: changes.name, email: changes.email });
    return transaction(this.db, async (trx) => {
      const identity = await this.repo.identityById(trx, tenantId, id);
      assertThat(identity, () => fail.notFound(`Identity ${id} was not found.`));
      const next: Identity = {
        ...identity,
        name: changes.name === undefined ? identity.name : changes.name,
        email: changes.email === undefined ? identity.email : changes.email,
        admin: changes.admin ?? identity.admin,
        rights: changes.rights ? [...new Set(changes.rights)] : identity.rights,
      };
      const changed = changesOf(identity, next, ['name', 'email', 'admin', 'rights']);
      if (Object.keys(changed).length === 0) return identity;
      await this.repo.updateIdentity(trx, tenantId, next, nowIso());
      await this.logEvent(trx, tenantId, actor, 'identity.updated', id, next, changed);
      return next;
    });
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

  /** Checks client credentials; undefined when they are wrong (the caller answers 401). */
  /**
   * Checks an API client's secret. An unknown client id costs the same work as a wrong secret (a
   * check against a hash of a secret nobody knows), so that answers' timing does not tell which
   * client ids exist.
   */
  async authenticate(clientId: string, clientSecret: string): Promise<Authenticated | 'unknown_client' | 'wrong_secret'> {
    const client = await this.repo.clientWithIdentity(this.db, clientId);
    if (!client) {
      this.unknownClientHash ??= this.secrets.hash(newSecret());
      await this.secrets.verify(clientSecret, await this.unknownClientHash);
      return 'unknown_client';
    }
    if (!(await this.secrets.verify(clientSecret, client.secretHash))) return 'wrong_secret';
    return { tenantId: client.tenantId, identity: client.identity };
  }

  /**
   * Whether tokens of this client are still honoured: false once the client is deleted. Answers
   * are cached for a few seconds, so a deletion takes effect at once in this process and within
   * `CLIENT_STATUS_TTL_MS` in the others on the same database.
   */
  async isClientActive(clientId: string): Promise<boolean> {
    const cached = this.cachedClientActive(clientId);
    if (cached !== undefined) return cached;
    const active = await this.repo.clientExists(this.db, clientId);
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

  // Governance groups -------------------------------------------------------------------------

  private async checkMembers(tenantId: string, members: readonly string[]): Promise<string[]> {
    const unique = [...new Set(members)];
    const missing = await this.missingIdentities(tenantId, unique);
    if (missing.length > 0) throw fail.invalid(missing.map((id) => ({ field: 'members', text: `Identity ${id} was not found.` })));
    return unique;
  }

  async createWorkgroup(tenantId: string, input: WorkgroupInput, actor: Actor = null): Promise<Workgroup> {
    refuseControlCharacters({ name: input.name, description: input.description }, ['description']);
    const now = nowIso();
    const group: Workgroup = {
      id: newId(),
      name: input.name,
      description: input.description ?? null,
      members: await this.checkMembers(tenantId, input.members),
      created: now,
      modified: now,
    };
    await this.saveWorkgroup(group, async (trx) => {
      await this.repo.insertWorkgroup(trx, tenantId, group);
      await this.logEvent(trx, tenantId, actor, 'workgroup.created', group.id, group);
    });
    return this.getWorkgroup(tenantId, group.id);
  }

  async getWorkgroup(tenantId: string, id: string): Promise<Workgroup> {
    const group = await this.repo.workgroupById(this.db, tenantId, id);
    assertThat(group, () => fail.notFound(`Governance group ${id} was not found.`));
    return group;
  }

  listWorkgroups(tenantId: string, limit: number, offset: number): Promise<Workgroup[]> {
    return this.repo.listWorkgroups(this.db, tenantId, limit, offset);
  }

  async updateWorkgroup(tenantId: string, id: string, changes: Partial<WorkgroupInput>, actor: Actor): Promise<Workgroup> {
    refuseControlCharacters({ name: changes.name, description: changes.description }, ['description']);
    const group = await this.getWorkgroup(tenantId, id);
    const next: Workgroup = {
      ...group,
      name: changes.name ?? group.name,
      description: changes.description === undefined ? group.description : changes.description,
      members: changes.members ? await this.checkMembers(tenantId, changes.members) : group.members,
      modified: nowIso(),
    };
    await this.saveWorkgroup(next, async (trx) => {
      await this.repo.updateWorkgroup(trx, tenantId, next);
      await this.logEvent(trx, tenantId, actor, 'workgroup.updated', id, next, changesOf(group, next, ['name', 'description', 'members']));
    });
    return this.getWorkgroup(tenantId, id);
  }

  /** Refused while a source names the group as approver or account manager (it would dangle). */
  async deleteWorkgroup(tenantId: string, id: string, actor: Actor): Promise<void> {
    const sources = await this.groupReferences(tenantId, id);
    if (sources.length > 0) {
      throw fail.referenceConflict(
        `Governance group ${id} is an approver or account manager of non-employee sources ${sources.join(', ')}; remove it from them first.`,
      );
    }
    const deleted = await transaction(this.db, async (trx) => {
      const group = await this.repo.workgroupById(trx, tenantId, id);
      if (!group || !(await this.repo.deleteWorkgroup(trx, tenantId, id))) return false;
      await this.logEvent(trx, tenantId, actor, 'workgroup.deleted', id, group);
      return true;
    });
    assertThat(deleted, () => fail.notFound(`Governance group ${id} was not found.`));
  }

  private async saveWorkgroup(group: Workgroup, write: (trx: Exec) => Promise<void>): Promise<void> {
    try {
      await transaction(this.db, write);
    } catch (error) {
      if (uniqueViolation(error) === 'workgroups_name_key') throw fail.referenceConflict(`A governance group named "${group.name}" already exists.`, 'name');
      if (isForeignKeyViolation(error))
        throw fail.badRequest('A member identity no longer exists.', [{ field: 'members', text: 'A member identity no longer exists.' }]);
      throw error;
    }
  }
}
