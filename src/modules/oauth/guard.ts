/**
 * Who may have a token, and how often they may try: the token endpoint's defences against secret
 * guessing and floods, and the per-address count of failed authentications the API shares.
 * - Failures are counted per client id and per source address; from a threshold on, each further
 *   failure locks the key for twice as long as the one before (1 s, 2 s, 4 s, … at most 15 min).
 *   A locked client id or address is answered 429 with `Retry-After` without checking the secret.
 * - Secret checks run in two lanes: requests naming a client id or coming from an address that
 *   failed lately, or naming a client id whose secret is being checked already, wait in a lane
 *   of their own, so a flood of wrong secrets cannot delay everybody else's token requests; each
 *   lane holds a bounded queue (full: 429).
 * The counts live in the process: with several processes, each counts apart.
 */
import { availableParallelism } from 'node:os';
import { FailureThrottle, Lane, LaneBusyError, type ThrottleOptions } from '../../auth/throttle.js';
import type { AuthThrottle } from '../../config/config.js';
import type { Authenticated, DirectoryService } from '../directory/service.js';
import type { Actor } from '../events/model.js';
import type { EventLog } from '../events/service.js';

const MINUTE = 60_000;
const LOCKS = { baseMs: 1000, maxMs: 15 * MINUTE, forgetMs: 15 * MINUTE, maxKeys: 100_000 } as const;
/**
 * Secret checks at once, and waiting, for clean and for suspect requests: together they leave a
 * core to the event loop (a check holds a core for its ~50 ms).
 */
const LANES = { clean: { limit: Math.max(1, Math.floor(availableParallelism() / 2)), queued: 64 }, suspect: { limit: 1, queued: 16 } } as const;

export type RefusalReason = 'unknown_client' | 'wrong_secret' | 'identity_disabled' | 'client_locked' | 'address_locked' | 'busy';

export type TokenAttempt =
  | ({ ok: true } & Authenticated)
  | { ok: false; reason: 'unknown_client' | 'wrong_secret' | 'identity_disabled' }
  | { ok: false; reason: 'client_locked' | 'address_locked' | 'busy'; retryAfterSeconds: number };

/** A throttle that never locks (the defences turned off). */
const OFF: ThrottleOptions = { threshold: Number.POSITIVE_INFINITY, ...LOCKS, maxKeys: 0 };

export interface GuardOptions {
  now?: () => number;
  /**
   * Where token requests whose secret was checked are written: `auth.token_issued` in the client's
   * tenant, `auth.token_refused` (a wrong secret or an unknown client id) in `tenantId`. Requests
   * refused unchecked (locked, busy) are only logged: a flood of them writes nothing.
   */
  audit?: { events: EventLog; tenantId: string };
}

export class TokenRequestGuard {
  readonly clients: FailureThrottle;
  /** Failed authentications per source address: token requests and API requests alike. */
  readonly addresses: FailureThrottle;
  private readonly clean = new Lane(LANES.clean.limit, LANES.clean.queued);
  private readonly suspect = new Lane(LANES.suspect.limit, LANES.suspect.queued);
  /** Secret checks in progress or waiting, per client id. */
  private readonly checking = new Map<string, number>();

  private readonly audit: GuardOptions['audit'];

  constructor(
    private readonly directory: DirectoryService,
    limits: AuthThrottle | false,
    { now = Date.now, audit }: GuardOptions = {},
  ) {
    this.audit = audit;
    this.clients = new FailureThrottle(limits ? { threshold: limits.clientFailures, ...LOCKS } : OFF, now);
    this.addresses = new FailureThrottle(limits ? { threshold: limits.addressFailures, ...LOCKS } : OFF, now);
  }

  /** A lock on the client id or the address, when there is one. */
  private locked(clientId: string, address: string): TokenAttempt | undefined {
    const clientWait = this.clients.wait(clientId);
    const addressWait = this.addresses.wait(address);
    if (clientWait === 0 && addressWait === 0) return undefined;
    const reason = clientWait >= addressWait ? 'client_locked' : 'address_locked';
    return { ok: false, reason, retryAfterSeconds: Math.ceil(Math.max(clientWait, addressWait) / 1000) };
  }

  async authenticate(clientId: string, clientSecret: string, address: string): Promise<TokenAttempt> {
    const before = this.locked(clientId, address);
    if (before) return before;
    const concurrent = this.checking.get(clientId) ?? 0;
    const lane = concurrent > 0 || this.clients.suspect(clientId) || this.addresses.suspect(address) ? this.suspect : this.clean;
    let result: Awaited<ReturnType<DirectoryService['authenticate']>> | TokenAttempt;
    this.checking.set(clientId, concurrent + 1);
    try {
      // Looked at again once its turn comes: requests that waited while others locked the client
      // id or the address are refused unchecked.
      result = await lane.run(async () => this.locked(clientId, address) ?? this.directory.authenticate(clientId, clientSecret));
    } catch (error) {
      if (error instanceof LaneBusyError) return { ok: false, reason: 'busy', retryAfterSeconds: 1 };
      throw error;
    } finally {
      const left = (this.checking.get(clientId) ?? 1) - 1;
      if (left === 0) this.checking.delete(clientId);
      else this.checking.set(clientId, left);
    }
    if (typeof result === 'object' && 'ok' in result) return result;
    if (typeof result === 'string') {
      this.clients.failed(clientId);
      this.addresses.failed(address);
      await this.log(this.audit?.tenantId, null, 'auth.token_refused', clientId, { clientId: clientId.slice(0, 128), address, reason: result });
      return { ok: false, reason: result };
    }
    this.clients.succeeded(clientId);
    const { identity, tenantId } = result;
    await this.log(tenantId, { id: identity.id, alias: identity.alias }, 'auth.token_issued', clientId, { clientId, identityId: identity.id, address });
    return { ok: true, ...result };
  }

  /**
   * Writes a sign-in or a refused secret to the audit trail, when there is one, without waiting
   * for the database's writer (a token request changes nothing else).
   */
  private async log(tenantId: string | undefined, actor: Actor, type: string, clientId: string, object: object): Promise<void> {
    if (!this.audit || tenantId === undefined) return;
    await this.audit.events.recordSoon(tenantId, { type, actor, target: { type: 'client', id: clientId.slice(0, 128) }, data: { object } });
  }
}
