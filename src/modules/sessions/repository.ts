/** The SQL of passwords and sessions. */
import type { Exec } from '../../db/dialect.js';
import type { SessionTable } from '../../db/session-types.js';

export class SessionRepository {
  async setPassword(db: Exec, tenantId: string, identityId: string, hash: string, modified: string): Promise<void> {
    await db
      .insertInto('identity_passwords')
      .values({ tenant_id: tenantId, identity_id: identityId, hash, modified })
      .onConflict((oc) => oc.columns(['tenant_id', 'identity_id']).doUpdateSet({ hash, modified }))
      .execute();
  }

  async passwordHash(db: Exec, tenantId: string, identityId: string): Promise<string | undefined> {
    const row = await db
      .selectFrom('identity_passwords')
      .select('hash')
      .where('tenant_id', '=', tenantId)
      .where('identity_id', '=', identityId)
      .executeTakeFirst();
    return row?.hash;
  }

  async insertSession(db: Exec, row: SessionTable): Promise<void> {
    await db.insertInto('sessions').values(row).execute();
  }

  session(db: Exec, idHash: string): Promise<SessionTable | undefined> {
    return db.selectFrom('sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
  }

  async touch(db: Exec, idHash: string, lastSeen: string): Promise<void> {
    await db.updateTable('sessions').set({ last_seen: lastSeen }).where('id_hash', '=', idHash).execute();
  }

  /** Deletes one session; whether it existed. */
  async deleteSession(db: Exec, idHash: string): Promise<boolean> {
    const result = await db.deleteFrom('sessions').where('id_hash', '=', idHash).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Deletes every session of an identity; how many there were. */
  async deleteSessionsOf(db: Exec, tenantId: string, identityId: string): Promise<number> {
    const result = await db.deleteFrom('sessions').where('tenant_id', '=', tenantId).where('identity_id', '=', identityId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Deletes an identity's sessions last seen before `idleBefore` or created before `createdBefore`. */
  async deleteExpired(db: Exec, tenantId: string, identityId: string, idleBefore: string, createdBefore: string): Promise<void> {
    await db
      .deleteFrom('sessions')
      .where('tenant_id', '=', tenantId)
      .where('identity_id', '=', identityId)
      .where((eb) => eb.or([eb('last_seen', '<', idleBefore), eb('created', '<', createdBefore)]))
      .execute();
  }
}
