/**
 * People signing in: passwords set by org admins or on the server's host, and the console's
 * sessions, begun by a password (with a one-time code when the identity has one: totp.ts) or by
 * single sign-on (oidc.ts). A session lives in the database, known by the SHA-256 of its id (the
 * cookie holds the id); it ends after `idleSeconds` without a request, after `absoluteSeconds` in
 * any case, at sign-out, and when its identity's password is set again. It resolves to the
 * principal a token of its identity would carry; under NELM_CONSOLE_REQUIRE_TOTP, an org admin's
 * password session without a one-time password is marked to be held back. No HTTP here.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type PasswordHasher, passwordProblem } from '../../auth/passwords.js';
import type { Principal } from '../../auth/principal.js';
import { newSecret } from '../../auth/secrets.js';
import type { SessionSettings } from '../../config/config.js';
import type { SignInMethod } from '../../db/session-types.js';
import { transaction } from '../../db/dialect.js';
import type { Database } from '../../db/types.js';
import { fail } from '../../errors/api-error.js';
import type { Identity } from '../directory/model.js';
import type { DirectoryService } from '../directory/service.js';
import type { Actor } from '../events/model.js';
import type { EventLog } from '../events/service.js';
import type { SessionRepository } from './repository.js';
import type { TotpService } from './totp.js';

export type PasswordRefusal = 'unknown_user' | 'no_password' | 'wrong_password' | 'disabled';

/** A session just begun: the cookie's value is `token`, shown to its holder only. */
export interface SignedIn {
  token: string;
  session: SessionView;
}

/** What the holder of a session may know of it. */
export interface SessionView {
  identity: Identity;
  /** Sent back in `X-CSRF-Token` with every request that changes something. */
  csrfToken: string;
  created: string;
  /** When it ends at the latest, however busy. */
  expires: string;
  /** Whether the identity has a confirmed one-time password. */
  totp: boolean;
  /** The session may do nothing but enrol a one-time password (and sign out) until one is confirmed. */
  totpEnrolmentRequired: boolean;
}

/** A request's session, resolved from its cookie. */
export interface ResolvedSession {
  idHash: string;
  principal: Principal;
  csrfToken: string;
  /** An org admin signed in by password without a one-time password, which NELM_CONSOLE_REQUIRE_TOTP requires. */
  totpEnrolmentRequired: boolean;
}

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');
/** The CSRF token of a session: derived from its id, so that only its holder knows it. */
const csrfOf = (token: string) => createHmac('sha256', token).update('nelm console csrf').digest('base64url');
const iso = (ms: number) => new Date(ms).toISOString();

export class SessionService {
  /** What an unknown username's password is checked against (the same work as a wrong password). */
  private unknownHash: Promise<string> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly repo: SessionRepository,
    private readonly directory: DirectoryService,
    private readonly events: EventLog,
    private readonly hasher: PasswordHasher,
    readonly settings: SessionSettings,
    readonly totp: TotpService,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Sets an identity's password (400 naming `password` when it is too weak) and ends the
   * identity's sessions. Never logged, never in an event.
   */
  async setPassword(tenantId: string, identityId: string, password: string, actor: Actor): Promise<void> {
    const identity = await this.directory.findIdentity(tenantId, identityId);
    const problem = passwordProblem(password, identity);
    if (problem) throw fail.invalid([{ field: 'password', text: problem }]);
    const hash = await this.hasher.hash(password);
    await transaction(this.db, async (trx) => {
      const modified = iso(this.now());
      await this.repo.setPassword(trx, tenantId, identityId, hash, modified);
      const ended = await this.repo.deleteSessionsOf(trx, tenantId, identityId);
      const object = { identityId, alias: identity.alias, modified, sessionsEnded: ended };
      await this.events.append(trx, tenantId, [{ type: 'identity.password_set', actor, target: { type: 'identity', id: identityId }, data: { object } }]);
    });
  }

  /** The identity a username names (its alias, or an email only it has). */
  account(tenantId: string, username: string): Promise<Identity | undefined> {
    return this.directory.identityByUsername(tenantId, username);
  }

  /**
   * Checks a password; an unknown identity or one without a password costs the same work. A
   * disabled identity is told so only when its password matched.
   */
  async checkPassword(tenantId: string, identity: Identity | undefined, password: string): Promise<true | PasswordRefusal> {
    const stored = identity && (await this.repo.passwordHash(this.db, tenantId, identity.id));
    if (!stored) {
      this.unknownHash ??= this.hasher.hash(newSecret());
      await this.hasher.verify(password, await this.unknownHash);
      return identity ? 'no_password' : 'unknown_user';
    }
    if (!(await this.hasher.verify(password, stored))) return 'wrong_password';
    return identity.disabled ? 'disabled' : true;
  }

  /**
   * Begins a session for an identity whose password (and one-time code) matched, or whom the
   * identity provider named (`oidc`); `auth.signed_in` in its transaction.
   */
  async begin(tenantId: string, identity: Identity, address: string, method: SignInMethod = 'password'): Promise<SignedIn> {
    const token = randomBytes(32).toString('base64url');
    const now = this.now();
    const { idleSeconds, absoluteSeconds } = this.settings;
    await transaction(this.db, async (trx) => {
      await this.repo.deleteExpired(trx, tenantId, identity.id, iso(now - idleSeconds * 1000), iso(now - absoluteSeconds * 1000));
      await this.repo.insertSession(trx, {
        id_hash: hashOf(token),
        tenant_id: tenantId,
        identity_id: identity.id,
        address,
        created: iso(now),
        last_seen: iso(now),
        method,
      });
      const object = { identityId: identity.id, alias: identity.alias, address, method };
      const actor = { id: identity.id, alias: identity.alias };
      await this.events.append(trx, tenantId, [{ type: 'auth.signed_in', actor, target: { type: 'identity', id: identity.id }, data: { object } }]);
    });
    const totp = await this.totp.enrolled(tenantId, identity.id);
    const session = { identity, csrfToken: csrfOf(token), created: iso(now), expires: iso(now + absoluteSeconds * 1000) };
    return { token, session: { ...session, totp, totpEnrolmentRequired: this.enrolmentRequired(identity, method, totp) } };
  }

  /** Whether NELM_CONSOLE_REQUIRE_TOTP holds a session back until its identity enrols a one-time password. */
  private enrolmentRequired(identity: Identity, method: SignInMethod, enrolled: boolean): boolean {
    return this.settings.requireTotp && identity.admin && method === 'password' && !enrolled;
  }

  /** Writes a refused sign-in whose password was checked: `auth.sign_in_refused`, never the password. */
  async refused(
    tenantId: string,
    username: string,
    identity: Identity | undefined,
    address: string,
    reason: string,
    method: SignInMethod = 'password',
  ): Promise<void> {
    const object = { username: username.slice(0, 256), identityId: identity?.id ?? null, address, reason, method };
    const target = { type: 'identity', id: identity?.id ?? username.slice(0, 128) };
    await this.events.record(tenantId, { type: 'auth.sign_in_refused', actor: null, target, data: { object } });
  }

  /**
   * The live session a cookie's value names, with its identity's principal; undefined when there
   * is none, or it timed out (then it is deleted). Its last use is written at most every
   * `idleSeconds / 4` (and every minute at most), not at every request.
   */
  async resolve(token: string): Promise<ResolvedSession | undefined> {
    const idHash = hashOf(token);
    const row = await this.repo.session(this.db, idHash);
    if (!row) return undefined;
    const now = this.now();
    const lastSeen = Date.parse(row.last_seen);
    const { idleSeconds, absoluteSeconds } = this.settings;
    if (now - lastSeen >= idleSeconds * 1000 || now - Date.parse(row.created) >= absoluteSeconds * 1000) {
      await this.repo.deleteSession(this.db, idHash);
      return undefined;
    }
    const identity = await this.directory.identityById(row.tenant_id, row.identity_id);
    if (!identity) return undefined;
    if (identity.disabled) {
      await this.repo.deleteSession(this.db, idHash);
      return undefined;
    }
    if (now - lastSeen >= Math.min(60_000, (idleSeconds * 1000) / 4)) await this.repo.touch(this.db, idHash, iso(now));
    const principal: Principal = {
      tenantId: row.tenant_id,
      identityId: identity.id,
      alias: identity.alias,
      clientId: `session:${identity.id}`,
      admin: identity.admin,
      rights: new Set(identity.rights),
    };
    const required = this.settings.requireTotp && identity.admin && row.method === 'password';
    const totpEnrolmentRequired = required && !(await this.totp.enrolled(row.tenant_id, identity.id));
    return { idHash, principal, csrfToken: csrfOf(token), totpEnrolmentRequired };
  }

  /** What the holder of a resolved session may see of it. */
  async view(session: ResolvedSession): Promise<SessionView | undefined> {
    const row = await this.repo.session(this.db, session.idHash);
    const identity = row && (await this.directory.identityById(row.tenant_id, row.identity_id));
    if (!row || !identity) return undefined;
    const expires = iso(Date.parse(row.created) + this.settings.absoluteSeconds * 1000);
    const totp = await this.totp.enrolled(row.tenant_id, identity.id);
    const totpEnrolmentRequired = this.enrolmentRequired(identity, row.method, totp);
    return { identity, csrfToken: session.csrfToken, created: row.created, expires, totp, totpEnrolmentRequired };
  }

  /** Ends one session (`everywhere`: every session of the principal's identity); `auth.signed_out`. */
  async signOut(principal: Principal, address: string, session: ResolvedSession | undefined, everywhere: boolean): Promise<number> {
    const { tenantId, identityId, alias } = principal;
    return transaction(this.db, async (trx) => {
      const ended = everywhere
        ? await this.repo.deleteSessionsOf(trx, tenantId, identityId)
        : Number(session !== undefined && (await this.repo.deleteSession(trx, session.idHash)));
      const object = { identityId, alias, address, everywhere, sessionsEnded: ended };
      const event = { type: 'auth.signed_out', actor: { id: identityId, alias }, target: { type: 'identity', id: identityId }, data: { object } };
      await this.events.append(trx, tenantId, [event]);
      return ended;
    });
  }
}
