/**
 * How often people may try a password: failures are counted per account (the identity a username
 * names, or the username when it names none) and per address; from a threshold on
 * (`NELM_AUTH_THROTTLE`: the client count for accounts, the address count for addresses), each
 * further failure locks the key for twice as long as the one before (1 s, 2 s, 4 s, … at most
 * 15 min). A locked account or address is answered 429 with `Retry-After` without checking the
 * password, and written to the server's log only. Password checks (scrypt, ~128 MiB each) run a
 * few at a time; more wait in a bounded queue (full: 429). The counts live in the process.
 * An identity with a one-time password also needs its code: the right password without a code is
 * told so (no failure counted); a wrong or reused code is a failure like a wrong password.
 */
import { availableParallelism } from 'node:os';
import { FailureThrottle, Lane, LaneBusyError, type ThrottleOptions } from '../../auth/throttle.js';
import type { AuthThrottle } from '../../config/config.js';
import type { PasswordRefusal, SessionService, SignedIn } from './service.js';
import { RetryLaterError } from '../../errors/api-error.js';
import { type CodeCheck, wrongCode } from './totp.js';

const MINUTE = 60_000;
const LOCKS = { baseMs: 1000, maxMs: 15 * MINUTE, forgetMs: 15 * MINUTE, maxKeys: 100_000 } as const;
const OFF: ThrottleOptions = { threshold: Number.POSITIVE_INFINITY, ...LOCKS, maxKeys: 0 };

export type SignInAttempt =
  | { ok: true; signedIn: SignedIn }
  | { ok: false; reason: PasswordRefusal | Exclude<CodeCheck, 'ok'> | 'code_required' }
  | { ok: false; reason: 'account_locked' | 'address_locked' | 'busy'; retryAfterSeconds: number };

export class SignInGuard {
  readonly accounts: FailureThrottle;
  readonly addresses: FailureThrottle;
  private readonly lane = new Lane(Math.max(1, Math.floor(availableParallelism() / 2)), 32);

  constructor(
    private readonly sessions: SessionService,
    limits: AuthThrottle | false,
    now: () => number = Date.now,
  ) {
    this.accounts = new FailureThrottle(limits ? { threshold: limits.clientFailures, ...LOCKS } : OFF, now);
    this.addresses = new FailureThrottle(limits ? { threshold: limits.addressFailures, ...LOCKS } : OFF, now);
  }

  private locked(account: string, address: string): SignInAttempt | undefined {
    const accountWait = this.accounts.wait(account);
    const addressWait = this.addresses.wait(address);
    if (accountWait === 0 && addressWait === 0) return undefined;
    const reason = accountWait >= addressWait ? 'account_locked' : 'address_locked';
    return { ok: false, reason, retryAfterSeconds: Math.ceil(Math.max(accountWait, addressWait) / 1000) };
  }

  async signIn(tenantId: string, username: string, password: string, address: string, code?: string): Promise<SignInAttempt> {
    const identity = await this.sessions.account(tenantId, username);
    const account = identity ? `id:${identity.id}` : `name:${username.toLowerCase()}`;
    const before = this.locked(account, address);
    if (before) return before;
    let checked: true | PasswordRefusal | SignInAttempt;
    try {
      // Looked at again once its turn comes: attempts that waited while others locked the account
      // or the address are refused unchecked.
      checked = await this.lane.run(async () => this.locked(account, address) ?? this.sessions.checkPassword(tenantId, identity, password));
    } catch (error) {
      if (error instanceof LaneBusyError) return { ok: false, reason: 'busy', retryAfterSeconds: 1 };
      throw error;
    }
    if (typeof checked === 'object') return checked;
    if (checked !== true || !identity) {
      const reason = checked === true ? 'unknown_user' : checked;
      this.accounts.failed(account);
      this.addresses.failed(address);
      await this.sessions.refused(tenantId, username, identity, address, reason);
      return { ok: false, reason };
    }
    if (await this.sessions.totp.enrolled(tenantId, identity.id)) {
      if (code === undefined || code.trim() === '') return { ok: false, reason: 'code_required' };
      const judged = await this.sessions.totp.check(tenantId, identity.id, code);
      if (judged !== 'ok') {
        this.accounts.failed(account);
        this.addresses.failed(address);
        await this.sessions.refused(tenantId, username, identity, address, judged);
        return { ok: false, reason: judged };
      }
    }
    this.accounts.succeeded(account);
    return { ok: true, signedIn: await this.sessions.begin(tenantId, identity, address) };
  }

  /**
   * Removing one's one-time password takes a code of it: a wrong one counts against the account as
   * at sign-in (a stolen session cannot guess its way to removing it), and a locked account is 429.
   */
  async removeTotp(tenantId: string, identityId: string, code: string): Promise<void> {
    const account = `id:${identityId}`;
    const wait = this.accounts.wait(account);
    if (wait > 0) throw new RetryLaterError('too many failed one-time codes', Math.ceil(wait / 1000));
    if ((await this.sessions.totp.remove(tenantId, identityId, code)) === 'removed') return;
    this.accounts.failed(account);
    throw wrongCode();
  }
}
