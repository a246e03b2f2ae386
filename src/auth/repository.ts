import type { Kysely } from 'kysely';
import { transaction } from '../db/dialect.js';
import type { Database, SigningKeyTable } from '../db/types.js';

/** All SQL of the signing keys. */
export class SigningKeyRepository {
  /** Every key, newest first. */
  all(db: Kysely<Database>): Promise<SigningKeyTable[]> {
    return db.selectFrom('signing_keys').selectAll().orderBy('created', 'desc').orderBy('kid', 'desc').execute();
  }

  /** Retires the signing key and adds `key`, which signs from now on. */
  async replaceSigner(db: Kysely<Database>, key: SigningKeyTable): Promise<void> {
    await transaction(db, async (trx) => {
      await trx.updateTable('signing_keys').set({ retired: key.created }).where('retired', 'is', null).execute();
      await trx.insertInto('signing_keys').values(key).execute();
    });
  }

  /** Replaces a key's stored private part, unless another process changed it first. */
  async replacePrivateJwk(db: Kysely<Database>, kid: string, from: string, to: string): Promise<void> {
    await db.updateTable('signing_keys').set({ private_jwk: to }).where('kid', '=', kid).where('private_jwk', '=', from).execute();
  }

  /** Deletes the keys retired before `cutoff`; how many. */
  async deleteRetired(db: Kysely<Database>, cutoff: string): Promise<number> {
    const result = await db.deleteFrom('signing_keys').where('retired', '<', cutoff).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
