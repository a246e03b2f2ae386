/** All SQL of the directory: tenants, identities, API clients, governance groups (workgroups). */
import { sql } from 'kysely';
import type { Dialect, Exec } from '../../db/dialect.js';
import { caselessKey } from '../../domain/text.js';
import { type Identity, type Workgroup, toIdentity, toWorkgroup } from './model.js';

/** Ids per `in (…)` list when looking many up. */
const CHUNK = 500;

/**
 * A condition: the column holds `text`, in any case as the database folds it (as the API's `co`
 * filter: ASCII letters on SQLite, every letter on PostgreSQL); LIKE's wildcards in it are text.
 */
function holds(text: string) {
  const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return (column: string) => sql<boolean>`lower(${sql.ref(column)}) like lower(${pattern}) escape '\\'`;
}

export class DirectoryRepository {
  constructor(private readonly dialect: Dialect) {}

  async ensureTenant(db: Exec, tenantId: string, now: string): Promise<void> {
    await db
      .insertInto('tenants')
      .values({ id: tenantId, name: tenantId, source_count: 0, created: now })
      .onConflict((c) => c.column('id').doNothing())
      .execute();
  }

  async insertIdentity(db: Exec, tenantId: string, identity: Identity, now: string): Promise<void> {
    await db
      .insertInto('identities')
      .values({
        tenant_id: tenantId,
        id: identity.id,
        alias: identity.alias,
        name: identity.name,
        email: identity.email,
        admin: identity.admin ? 1 : 0,
        rights: identity.rights.join(','),
        disabled: identity.disabled ? 1 : 0,
        created: now,
        modified: now,
      })
      .execute();
  }

  /** Writes an identity's name, email, admin flag, rights and whether it is disabled. */
  async updateIdentity(db: Exec, tenantId: string, identity: Identity, now: string): Promise<void> {
    const { name, email, admin, rights, disabled } = identity;
    await db
      .updateTable('identities')
      .set({ name, email, admin: admin ? 1 : 0, rights: rights.join(','), disabled: disabled ? 1 : 0, modified: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', identity.id)
      .execute();
  }

  async identityById(db: Exec, tenantId: string, id: string): Promise<Identity | undefined> {
    const row = await db.selectFrom('identities').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return row && toIdentity(row);
  }

  /** The identity whose alias is `alias` regardless of case (the one spelt exactly so, if two are). */
  async identityByAlias(db: Exec, tenantId: string, alias: string): Promise<Identity | undefined> {
    const row = await db
      .selectFrom('identities')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where(sql`lower(alias)`, '=', sql`lower(${alias})`)
      .orderBy(sql`case when alias = ${alias} then 0 else 1 end`)
      .limit(1)
      .executeTakeFirst();
    return row && toIdentity(row);
  }

  /** Up to two identities whose email is `email` regardless of case. */
  async identitiesByEmail(db: Exec, tenantId: string, email: string): Promise<Identity[]> {
    const rows = await db
      .selectFrom('identities')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where(sql`lower(email)`, '=', sql`lower(${email})`)
      .limit(2)
      .execute();
    return rows.map(toIdentity);
  }

  async listIdentities(db: Exec, tenantId: string, limit: number, offset: number): Promise<Identity[]> {
    const rows = await db
      .selectFrom('identities')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('alias')
      .orderBy('id')
      .limit(limit)
      .offset(offset)
      .execute();
    return rows.map(toIdentity);
  }

  /** Up to `limit` identities whose alias, name or email holds `text` (any case), by alias. */
  async searchIdentities(db: Exec, tenantId: string, text: string, limit: number): Promise<Identity[]> {
    const like = holds(text);
    const rows = await db
      .selectFrom('identities')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where((eb) => eb.or([like('alias'), like('name'), like('email')]))
      .orderBy('alias')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toIdentity);
  }

  async countIdentities(db: Exec, tenantId: string): Promise<number> {
    const row = await db
      .selectFrom('identities')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Of `ids`, those that name no identity of the tenant. */
  async missingIdentities(db: Exec, tenantId: string, ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const found = await db.selectFrom('identities').select('id').where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
    const have = new Set(found.map((r) => r.id));
    return ids.filter((id) => !have.has(id));
  }

  /** Those of `aliases` that name an identity, regardless of case. */
  async knownAliases(db: Exec, tenantId: string, aliases: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < aliases.length; i += CHUNK) {
      const chunk = aliases.slice(i, i + CHUNK);
      const rows = await db
        .selectFrom('identities')
        .select('alias')
        .where('tenant_id', '=', tenantId)
        .where((eb) => eb.or([eb('alias', 'in', chunk), eb(sql`lower(alias)`, 'in', chunk.map(caselessKey))]))
        .execute();
      for (const r of rows) found.add(caselessKey(r.alias));
    }
    return new Set(aliases.filter((alias) => found.has(caselessKey(alias))));
  }

  /** The names of identities (their alias when they have none), by id. */
  async names(db: Exec, tenantId: string, ids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await db
        .selectFrom('identities')
        .select(['id', 'alias', 'name'])
        .where('tenant_id', '=', tenantId)
        .where('id', 'in', ids.slice(i, i + CHUNK))
        .execute();
      for (const r of rows) out.set(r.id, r.name?.trim() || r.alias);
    }
    return out;
  }

  /** The email addresses of identities, by id (identities without one are left out). */
  async emails(db: Exec, tenantId: string, ids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await db
        .selectFrom('identities')
        .select(['id', 'email'])
        .where('tenant_id', '=', tenantId)
        .where('id', 'in', ids.slice(i, i + CHUNK))
        .execute();
      for (const r of rows) if (r.email && r.email.trim() !== '') out.set(r.id, r.email.trim());
    }
    return out;
  }

  async insertClient(db: Exec, tenantId: string, clientId: string, identityId: string, secretHash: string, now: string): Promise<void> {
    await db
      .insertInto('api_clients')
      .values({ tenant_id: tenantId, client_id: clientId, identity_id: identityId, secret_hash: secretHash, created: now })
      .execute();
  }

  async clientWithIdentity(db: Exec, clientId: string): Promise<{ tenantId: string; secretHash: string; identity: Identity } | undefined> {
    const row = await db
      .selectFrom('api_clients')
      .innerJoin('identities', (j) => j.onRef('identities.tenant_id', '=', 'api_clients.tenant_id').onRef('identities.id', '=', 'api_clients.identity_id'))
      .selectAll('identities')
      .select(['api_clients.secret_hash'])
      .where('api_clients.client_id', '=', clientId)
      .executeTakeFirst();
    return row && { tenantId: row.tenant_id, secretHash: row.secret_hash, identity: toIdentity(row) };
  }

  /** Whether the client exists and its identity is not disabled. */
  async clientActive(db: Exec, clientId: string): Promise<boolean> {
    const row = await db
      .selectFrom('api_clients')
      .innerJoin('identities', (j) => j.onRef('identities.tenant_id', '=', 'api_clients.tenant_id').onRef('identities.id', '=', 'api_clients.identity_id'))
      .select('identities.disabled')
      .where('api_clients.client_id', '=', clientId)
      .executeTakeFirst();
    return row !== undefined && row.disabled === 0;
  }

  /**
   * How many org admins of the tenant are not disabled, counted under the tenant's row lock: two
   * transactions that each take an org admin away cannot both count the other's.
   */
  async countEnabledAdmins(db: Exec, tenantId: string): Promise<number> {
    await this.dialect.forUpdate(db.selectFrom('tenants').select('id').where('id', '=', tenantId)).execute();
    const row = await db
      .selectFrom('identities')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('admin', '=', 1)
      .where('disabled', '=', 0)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async listClients(db: Exec, tenantId: string, identityId: string): Promise<{ clientId: string; created: string }[]> {
    const rows = await db
      .selectFrom('api_clients')
      .select(['client_id', 'created'])
      .where('tenant_id', '=', tenantId)
      .where('identity_id', '=', identityId)
      .orderBy('created')
      .execute();
    return rows.map((r) => ({ clientId: r.client_id, created: r.created }));
  }

  async deleteClient(db: Exec, tenantId: string, clientId: string): Promise<boolean> {
    const result = await db.deleteFrom('api_clients').where('tenant_id', '=', tenantId).where('client_id', '=', clientId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async updateClientSecret(db: Exec, clientId: string, secretHash: string): Promise<void> {
    await db.updateTable('api_clients').set({ secret_hash: secretHash }).where('client_id', '=', clientId).execute();
  }

  // Governance groups -------------------------------------------------------------------------

  /** The members of governance groups, by group, ordered by identity id. */
  async membersOf(db: Exec, tenantId: string, ids: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return out;
    const rows = await db
      .selectFrom('workgroup_members')
      .select(['workgroup_id', 'identity_id'])
      .where('tenant_id', '=', tenantId)
      .where('workgroup_id', 'in', ids)
      .orderBy('identity_id')
      .execute();
    for (const row of rows) out.get(row.workgroup_id)?.push(row.identity_id);
    return out;
  }

  async workgroupById(db: Exec, tenantId: string, id: string): Promise<Workgroup | undefined> {
    const row = await db.selectFrom('workgroups').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    return toWorkgroup(row, (await this.membersOf(db, tenantId, [id])).get(id) ?? []);
  }

  async listWorkgroups(db: Exec, tenantId: string, limit: number, offset: number): Promise<Workgroup[]> {
    const rows = await db
      .selectFrom('workgroups')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('name')
      .orderBy('id')
      .limit(limit)
      .offset(offset)
      .execute();
    const members = await this.membersOf(
      db,
      tenantId,
      rows.map((r) => r.id),
    );
    return rows.map((r) => toWorkgroup(r, members.get(r.id) ?? []));
  }

  async insertWorkgroup(db: Exec, tenantId: string, group: Workgroup): Promise<void> {
    await db
      .insertInto('workgroups')
      .values({ tenant_id: tenantId, id: group.id, name: group.name, description: group.description, created: group.created, modified: group.modified })
      .execute();
    await this.insertMembers(db, tenantId, group);
  }

  async updateWorkgroup(db: Exec, tenantId: string, group: Workgroup): Promise<void> {
    await db
      .updateTable('workgroups')
      .set({ name: group.name, description: group.description, modified: group.modified })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', group.id)
      .execute();
    await db.deleteFrom('workgroup_members').where('tenant_id', '=', tenantId).where('workgroup_id', '=', group.id).execute();
    await this.insertMembers(db, tenantId, group);
  }

  private async insertMembers(db: Exec, tenantId: string, group: Workgroup): Promise<void> {
    if (group.members.length === 0) return;
    await db
      .insertInto('workgroup_members')
      .values(group.members.map((identity_id) => ({ tenant_id: tenantId, workgroup_id: group.id, identity_id })))
      .execute();
  }

  async deleteWorkgroup(db: Exec, tenantId: string, id: string): Promise<boolean> {
    const result = await db.deleteFrom('workgroups').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Up to `limit` governance groups whose name holds `text` (any case), by name; without their members. */
  async searchWorkgroups(db: Exec, tenantId: string, text: string, limit: number): Promise<{ id: string; name: string }[]> {
    return db
      .selectFrom('workgroups')
      .select(['id', 'name'])
      .where('tenant_id', '=', tenantId)
      .where(holds(text)('name'))
      .orderBy('name')
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /** The identities and governance groups of the tenant that `ids` name (at most CHUNK ids). */
  async people(db: Exec, tenantId: string, ids: readonly string[]): Promise<{ identities: Identity[]; groups: { id: string; name: string }[] }> {
    if (ids.length === 0) return { identities: [], groups: [] };
    const identities = await db.selectFrom('identities').selectAll().where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
    const groups = await db.selectFrom('workgroups').select(['id', 'name']).where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
    return { identities: identities.map(toIdentity), groups };
  }

  /** Of `ids`, those that name no governance group of the tenant. */
  async missingWorkgroups(db: Exec, tenantId: string, ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const found = await db.selectFrom('workgroups').select('id').where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
    const have = new Set(found.map((r) => r.id));
    return ids.filter((id) => !have.has(id));
  }

  /** The governance groups `identityId` belongs to. */
  async groupsOf(db: Exec, tenantId: string, identityId: string): Promise<string[]> {
    const rows = await db
      .selectFrom('workgroup_members')
      .select('workgroup_id')
      .where('tenant_id', '=', tenantId)
      .where('identity_id', '=', identityId)
      .execute();
    return rows.map((r) => r.workgroup_id);
  }
}
