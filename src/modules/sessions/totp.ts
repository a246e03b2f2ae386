/**
 * People's one-time passwords (TOTP, RFC 6238: src/auth/totp.ts): enrolment begun by the person
 * (a new secret, shown once), confirmed by a code of it, removed by the person with a code, or
 * reset by an org admin. Secrets are sealed under the key-encryption key, never logged, never in
 * an event, never shown again after the enrolment's answer. A code is taken once: the time step of
 * the last code taken is kept, and only later steps are taken. No HTTP here.
 */
import type { Kysely } from 'kysely';
import { KeyRing, UnknownKeyError } from '../../auth/key-encryption.js';
import { base32Encode, matchingStep, newTotpSecret, otpauthUri } from '../../auth/totp.js';
import { transaction } from '../../db/dialect.js';
import type { IdentityTotpTable } from '../../db/session-types.js';
import type { Database } from '../../db/types.js';
import { fail } from '../../errors/api-error.js';
import type { Identity } from '../directory/model.js';
import type { DirectoryService } from '../directory/service.js';
import type { Actor } from '../events/model.js';
import type { EventLog } from '../events/service.js';
import type { TotpRepository } from './totp-repository.js';

/** The issuer authenticator apps show beside the account. */
const ISSUER = 'nelm';
const CODE = /^[0-9]{6}$/;

/** A secret and the URI an authenticator app reads it from. */
export interface TotpEnrolment {
  secret: string;
  uri: string;
}

/** How a sign-in's code was judged. */
export type CodeCheck = 'ok' | 'wrong_code' | 'reused_code' | 'unreadable_secret';

/** The code as sent, without the spaces apps show in the middle; undefined when not 6 digits. */
export function normalizeCode(code: string): string | undefined {
  const clean = code.replace(/\s/g, '');
  return CODE.test(clean) ? clean : undefined;
}

/** The 400 of a code that is not the authenticator app's current one. */
export const wrongCode = () => fail.invalid([{ field: 'code', text: 'code is not the one-time code the authenticator app shows now' }]);

const contextOf = (tenantId: string, identityId: string) => `totp:${tenantId}:${identityId}`;
const iso = (ms: number) => new Date(ms).toISOString();

export class TotpService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly repo: TotpRepository,
    private readonly directory: DirectoryService,
    private readonly events: EventLog,
    private readonly keyRing: KeyRing,
    /** NELM_CONSOLE_REQUIRE_TOTP: org admins may not remove theirs. */
    private readonly requiredForAdmins: boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Seals again, under the current key-encryption key, the secrets sealed under the previous one;
   * one sealed under a key this server was not given stays as it is (its owner's codes are
   * refused until an org admin resets it).
   */
  async init(): Promise<void> {
    for (const row of await this.repo.all(this.db)) {
      const context = contextOf(row.tenant_id, row.identity_id);
      const reseal = (sealed: string | null): string | null => {
        if (sealed === null || KeyRing.sealedWith(sealed) === this.keyRing.currentId) return sealed;
        try {
          return this.keyRing.seal(this.keyRing.open(sealed, context), context);
        } catch (error) {
          if (error instanceof UnknownKeyError) return sealed;
          throw error;
        }
      };
      const [secret, pending] = [reseal(row.secret), reseal(row.pending)];
      if (secret !== row.secret || pending !== row.pending) await this.repo.reseal(this.db, row, secret, pending);
    }
  }

  /** Whether the identity has a confirmed one-time password. */
  enrolled(tenantId: string, identityId: string): Promise<boolean> {
    return this.repo.enrolled(this.db, tenantId, identityId);
  }

  private open(row: IdentityTotpTable, sealed: string): Buffer | undefined {
    try {
      return Buffer.from(this.keyRing.open(sealed, contextOf(row.tenant_id, row.identity_id)), 'base64');
    } catch (error) {
      if (error instanceof UnknownKeyError) return undefined;
      throw error;
    }
  }

  /** Begins (or begins again) an enrolment: a new secret, pending until a code of it confirms it. */
  async begin(tenantId: string, identityId: string): Promise<TotpEnrolment> {
    const identity = await this.directory.findIdentity(tenantId, identityId);
    const secret = newTotpSecret();
    const sealed = this.keyRing.seal(secret.toString('base64'), contextOf(tenantId, identity.id));
    await this.repo.setPending(this.db, tenantId, identity.id, sealed, iso(this.now()));
    return { secret: base32Encode(secret), uri: otpauthUri(ISSUER, identity.alias, secret) };
  }

  /** Confirms the pending enrolment with a code of its secret (400 naming `code` otherwise); `auth.totp_enrolled`. */
  async confirm(tenantId: string, identityId: string, code: string): Promise<void> {
    const identity = await this.directory.findIdentity(tenantId, identityId);
    const row = await this.repo.row(this.db, tenantId, identity.id);
    if (!row?.pending) throw fail.invalid([{ field: 'code', text: 'no one-time password enrolment is in progress: begin one first' }]);
    const step = this.stepOf(row, row.pending, code, null);
    if (step === undefined) throw wrongCode();
    await transaction(this.db, async (trx) => {
      const enrolled = iso(this.now());
      if (!(await this.repo.confirm(trx, tenantId, identity.id, row.pending!, step, enrolled))) {
        throw fail.invalid([{ field: 'code', text: 'another enrolment began meanwhile: confirm it with a code of its secret' }]);
      }
      const object = { identityId: identity.id, alias: identity.alias, enrolled };
      const actor = { id: identity.id, alias: identity.alias };
      await this.events.append(trx, tenantId, [{ type: 'auth.totp_enrolled', actor, target: { type: 'identity', id: identity.id }, data: { object } }]);
    });
  }

  /** The step of a well-formed code of `sealed` within the drift window, after `after`. */
  private stepOf(row: IdentityTotpTable, sealed: string, code: string, after: number | null): number | undefined {
    const clean = normalizeCode(code);
    const key = clean && this.open(row, sealed);
    return key ? matchingStep(key, clean!, this.now(), after) : undefined;
  }

  /** Checks a sign-in's code against the confirmed secret and takes its step. */
  async check(tenantId: string, identityId: string, code: string): Promise<CodeCheck> {
    const row = await this.repo.row(this.db, tenantId, identityId);
    if (!row?.secret) return 'wrong_code';
    if (this.open(row, row.secret) === undefined) return 'unreadable_secret';
    const step = this.stepOf(row, row.secret, code, row.last_step);
    if (step !== undefined && (await this.repo.takeStep(this.db, tenantId, identityId, step))) return 'ok';
    return this.stepOf(row, row.secret, code, null) === undefined ? 'wrong_code' : 'reused_code';
  }

  /**
   * The person removes their one-time password with a code of it (`wrong_code` otherwise: the
   * caller counts it and answers the 400 of `wrongCode`); refused (403) for an org admin under
   * NELM_CONSOLE_REQUIRE_TOTP. `auth.totp_removed`.
   */
  async remove(tenantId: string, identityId: string, code: string): Promise<'removed' | 'wrong_code'> {
    const identity = await this.directory.findIdentity(tenantId, identityId);
    if (this.requiredForAdmins && identity.admin)
      throw fail.forbidden('An org admin must keep a one-time password (NELM_CONSOLE_REQUIRE_TOTP): enrol a new one to replace it.');
    const row = await this.repo.row(this.db, tenantId, identity.id);
    if (!row?.secret) throw fail.notFound('No one-time password is enrolled.');
    const step = this.stepOf(row, row.secret, code, row.last_step);
    if (step === undefined || !(await this.repo.takeStep(this.db, tenantId, identity.id, step))) return 'wrong_code';
    await this.removed(tenantId, identity, { id: identity.id, alias: identity.alias }, 'auth.totp_removed');
    return 'removed';
  }

  /** An org admin resets an identity's one-time password (a lost phone); 404 for an unknown identity. `auth.totp_reset`. */
  async reset(tenantId: string, identityId: string, actor: Actor): Promise<void> {
    const identity = await this.directory.findIdentity(tenantId, identityId);
    await this.removed(tenantId, identity, actor, 'auth.totp_reset');
  }

  private async removed(tenantId: string, identity: Identity, actor: Actor, type: string): Promise<void> {
    await transaction(this.db, async (trx) => {
      const hadOne = await this.repo.delete(trx, tenantId, identity.id);
      const object = { identityId: identity.id, alias: identity.alias, enrolled: hadOne };
      await this.events.append(trx, tenantId, [{ type, actor, target: { type: 'identity', id: identity.id }, data: { object } }]);
    });
  }
}
