/** Identities, API clients and governance groups (workgroups): all SQL of the directory. */
import type { Kysely, Transaction } from 'kysely';
import type { Database, IdentityTable, WorkgroupTable } from '../../db/types.js';
import { isRight, type Right } from '../../auth/principal.js';

type Exec = Kysely<Database> | Transaction<Database>;

export interface Identity {
  id: string;
  alias: string;
  name: string | null;
  email: string | null;
  admin: boolean;
  rights: Right[];
}

export interface Workgroup {
  id: string;
  name: string;
  description: string | null;
  members: string[];
  created: string;
  modified: string;
}

export function toIdentity(row: IdentityTable): Identity {
  return {
    id: row.id,
    alias: row.alias,
    name: row.name,
    email: row.email,
    admin: row.admin === 1,
    rights: row.rights.split(',').filter((r): r is Right => isRight(r)),
  };
}

export class DirectoryRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async ensureTenant(tenantId: string, now: string): Promise<void> {
    await this.db
      .insertInto('tenants')
      .values({ id: tenantId, name: tenantId, source_count: 0, created: now })
      .onConflict((c) => c.column('id').doNothing())
      .execute();
  }

  async insertIdentity(tenantId: string, identity: Identity, now: string, db: Exec = this.db): Promise<void> {
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
        created: now,
        modified: now,
      })
      .execute();
  }

  async identityById(tenantId: string, id: string): Promise<Identity | undefined> {
    const row = await this.db.selectFrom('identities').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return row && toIdentity(row);
  }

  async identityByAlias(tenantId: string, alias: string): Promise<Identity | undefined> {
    const row = await this.db.selectFrom('identities').selectAll().where('tenant_id', '=', tenantId).where('alias', '=', alias).executeTakeFirst();
    return row && toIdentity(row);
  }

  async listIdentities(tenantId: string, limit: number, offset: number): Promise<Identity[]> {
    const rows = await this.db
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

  async countIdentities(tenantId: string): Promise<number> {
    const row = await this.db
      .selectFrom('identities')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insertClient(tenantId: string, clientId: string, identityId: string, secretHash: string, now: string): Promise<void> {
    await this.db
      .insertInto('api_clients')
      .values({ tenant_id: tenantId, client_id: clientId, identity_id: identityId, secret_hash: secretHash, created: now })
      .execute();
  }

  async clientWithIdentity(clientId: string): Promise<{ tenantId: string; secretHash: string; identity: Identity } | undefined> {
    const client = await this.db.selectFrom('api_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
    if (!client) return undefined;
    const identity = await this.db
      .selectFrom('identities')
      .selectAll()
      .where('tenant_id', '=', client.tenant_id)
      .where('id', '=', client.identity_id)
      .executeTakeFirst();
    if (!identity) return undefined;
    return { tenantId: client.tenant_id, secretHash: client.secret_hash, identity: toIdentity(identity) };
  }

  async clientExists(clientId: string): Promise<boolean> {
    return (await this.db.selectFrom('api_clients').select('client_id').where('client_id', '=', clientId).executeTakeFirst()) !== undefined;
  }

  async listClients(tenantId: string, identityId: string): Promise<{ clientId: string; created: string }[]> {
    const rows = await this.db
      .selectFrom('api_clients')
      .select(['client_id', 'created'])
      .where('tenant_id', '=', tenantId)
      .where('identity_id', '=', identityId)
      .orderBy('created')
      .execute();
    return rows.map((r) => ({ clientId: r.client_id, created: r.created }));
  }

  async deleteClient(tenantId: string, clientId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('api_clients').where('tenant_id', '=', tenantId).where('client_id', '=', clientId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async updateClientSecret(clientId: string, secretHash: string): Promise<void> {
    await this.db.updateTable('api_clients').set({ secret_hash: secretHash }).where('client_id', '=', clientId).execute();
  }

  // Governance groups -------------------------------------------------------------------------

  private async membersOf(tenantId: string, ids: readonly string[], db: Exec): Promise<Map<string, string[]>> {
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

  private toWorkgroup(row: WorkgroupTable, members: string[]): Workgroup {
    return { id: row.id, name: row.name, description: row.description, members, created: row.created, modified: row.modified };
  }

  async workgroupById(tenantId: string, id: string, db: Exec = this.db): Promise<Workgroup | undefined> {
    const row = await db.selectFrom('workgroups').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const members = await this.membersOf(tenantId, [id], db);
    return this.toWorkgroup(row, members.get(id) ?? []);
  }

  async listWorkgroups(tenantId: string, limit: number, offset: number): Promise<Workgroup[]> {
    const rows = await this.db
      .selectFrom('workgroups')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('name')
      .orderBy('id')
      .limit(limit)
      .offset(offset)
      .execute();
    const members = await this.membersOf(
      tenantId,
      rows.map((r) => r.id),
      this.db,
    );
    return rows.map((r) => this.toWorkgroup(r, members.get(r.id) ?? []));
  }

  async saveWorkgroup(tenantId: string, group: Workgroup, isNew: boolean): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      if (isNew) {
        await trx
          .insertInto('workgroups')
          .values({ tenant_id: tenantId, id: group.id, name: group.name, description: group.description, created: group.created, modified: group.modified })
          .execute();
      } else {
        await trx
          .updateTable('workgroups')
          .set({ name: group.name, description: group.description, modified: group.modified })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', group.id)
          .execute();
        await trx.deleteFrom('workgroup_members').where('tenant_id', '=', tenantId).where('workgroup_id', '=', group.id).execute();
      }
      if (group.members.length > 0) {
        await trx
          .insertInto('workgroup_members')
          .values(group.members.map((identity_id) => ({ tenant_id: tenantId, workgroup_id: group.id, identity_id })))
          .execute();
      }
    });
  }

  /** The sources that name this governance group as an approver or account manager. */
  async sourcesNaming(tenantId: string, principalId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('source_members')
      .select('source_id')
      .distinct()
      .where('tenant_id', '=', tenantId)
      .where('principal_id', '=', principalId)
      .orderBy('source_id')
      .execute();
    return rows.map((r) => r.source_id);
  }

  async deleteWorkgroup(tenantId: string, id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('workgroups').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Of `ids`, those that name no identity of the tenant. */
  async missingIdentities(tenantId: string, ids: readonly string[], db: Exec = this.db): Promise<string[]> {
    if (ids.length === 0) return [];
    const found = await db.selectFrom('identities').select('id').where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
    const have = new Set(found.map((r) => r.id));
    return ids.filter((id) => !have.has(id));
  }

  /** Of `ids`, those that name no governance group of the tenant. */
  async missingWorkgroups(tenantId: string, ids: readonly string[], db: Exec = this.db): Promise<string[]> {
    if (ids.length === 0) return [];
    const found = await db.selectFrom('workgroups').select('id').where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
    const have = new Set(found.map((r) => r.id));
    return ids.filter((id) => !have.has(id));
  }

  /** The governance groups `identityId` belongs to. */
  async groupsOf(tenantId: string, identityId: string, db: Exec = this.db): Promise<string[]> {
    const rows = await db
      .selectFrom('workgroup_members')
      .select('workgroup_id')
      .where('tenant_id', '=', tenantId)
      .where('identity_id', '=', identityId)
      .execute();
    return rows.map((r) => r.workgroup_id);
  }
}
