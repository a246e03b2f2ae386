/** The SQL of people's one-time passwords (table identity_totp). */
import type { Exec } from '../../db/dialect.js';
import type { IdentityTotpTable } from '../../db/session-types.js';

export class TotpRepository {
  row(db: Exec, tenantId: string, identityId: string): Promise<IdentityTotpTable | undefined> {
    return db.selectFrom('identity_totp').selectAll().where('tenant_id', '=', tenantId).where('identity_id', '=', identityId).executeTakeFirst();
  }

  /** Whether the identity has a confirmed secret. */
  async enrolled(db: Exec, tenantId: string, identityId: string): Promise<boolean> {
    const row = await db
      .selectFrom('identity_totp')
      .select('identity_id')
      .where('tenant_id', '=', tenantId)
      .where('identity_id', '=', identityId)
      .where('secret', 'is not', null)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Begins (or begins again) an enrolment; a confirmed secret stays as it is. */
  async setPending(db: Exec, tenantId: string, identityId: string, pending: string, modified: string): Promise<void> {
    await db
      .insertInto('identity_totp')
      .values({ tenant_id: tenantId, identity_id: identityId, secret: null, pending, last_step: null, enrolled: null, modified })
      .onConflict((oc) => oc.columns(['tenant_id', 'identity_id']).doUpdateSet({ pending, modified }))
      .execute();
  }

  /** Makes the pending secret `pending` the confirmed one, its code's step taken; false when another enrolment began since. */
  async confirm(db: Exec, tenantId: string, identityId: string, pending: string, step: number, enrolled: string): Promise<boolean> {
    const result = await db
      .updateTable('identity_totp')
      .set({ secret: pending, pending: null, last_step: step, enrolled, modified: enrolled })
      .where('tenant_id', '=', tenantId)
      .where('identity_id', '=', identityId)
      .where('pending', '=', pending)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Takes a code's time step, when it is later than the last one taken: false when it is not (a replay). */
  async takeStep(db: Exec, tenantId: string, identityId: string, step: number): Promise<boolean> {
    const result = await db
      .updateTable('identity_totp')
      .set({ last_step: step })
      .where('tenant_id', '=', tenantId)
      .where('identity_id', '=', identityId)
      .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Deletes an identity's one-time password; whether it had a confirmed one. */
  async delete(db: Exec, tenantId: string, identityId: string): Promise<boolean> {
    const row = await db
      .deleteFrom('identity_totp')
      .where('tenant_id', '=', tenantId)
      .where('identity_id', '=', identityId)
      .returning('secret')
      .executeTakeFirst();
    return row?.secret !== undefined && row.secret !== null;
  }

  /** Every sealed secret (to seal them again under a new key-encryption key). */
  all(db: Exec): Promise<IdentityTotpTable[]> {
    return db.selectFrom('identity_totp').selectAll().execute();
  }

  async reseal(db: Exec, row: IdentityTotpTable, secret: string | null, pending: string | null): Promise<void> {
    await db
      .updateTable('identity_totp')
      .set({ secret, pending })
      .where('tenant_id', '=', row.tenant_id)
      .where('identity_id', '=', row.identity_id)
      .where('modified', '=', row.modified)
      .execute();
  }
}
