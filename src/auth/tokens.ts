/**
 * Access tokens: JWTs signed with Ed25519 keys kept in the database, so every server process on
 * the same database signs and verifies alike. Keys rotate: the newest key signs, every key that is
 * not yet pruned verifies, so tokens signed before a rotation stay valid until they expire. The
 * private keys are stored encrypted (key-encryption.ts).
 */
import { randomUUID } from 'node:crypto';
import { type CryptoKey, type JWK, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, decodeProtectedHeader } from 'jose';
import type { Kysely } from 'kysely';
import type { Database, SigningKeyTable } from '../db/types.js';
import { KeyRing, UnknownKeyError } from './key-encryption.js';
import { SigningKeyRepository } from './repository.js';
import { isRight, type Principal, type Right } from './principal.js';

const ALG = 'EdDSA';
const ISSUER = 'nelm';
/** Seconds a token's expiry may lie beyond the longest lifetime (clocks of several processes). */
const CLOCK_SKEW = 60;
/** A key id found in no reload is not looked up again for this long… */
const MISS_MEMORY_MS = 10_000;
const MAX_MISSES = 1_000;
/** …and unknown key ids reload the keys at most once per this interval. */
const RELOAD_INTERVAL_MS = 1_000;
/** A JWT segment in canonical base64url (checked further by re-encoding it). */
const SEGMENT = /^[A-Za-z0-9_-]+$/;

interface Key {
  kid: string;
  privateKey?: CryptoKey;
  publicKey: CryptoKey;
}

export interface TokenSubject {
  tenantId: string;
  identityId: string;
  alias: string;
  clientId: string;
  admin: boolean;
  rights: readonly Right[];
}

export class TokenError extends Error {}

/**
 * A token this service verified: its caller, its expiry (seconds) and the generation of the cache
 * it was verified in (`TokenService.forgetVerified` starts a new one).
 */
export interface VerifiedToken {
  readonly principal: Principal;
  readonly exp: number;
  readonly generation: number;
}

/** Cache of verified tokens, so that the signature of a token is checked once, not per request. */
class VerifiedCache {
  private readonly entries = new Map<string, VerifiedToken>();
  constructor(private readonly max: number) {}

  get(token: string, nowSeconds: number): VerifiedToken | undefined {
    const hit = this.entries.get(token);
    if (!hit) return undefined;
    if (hit.exp <= nowSeconds) {
      this.entries.delete(token);
      return undefined;
    }
    return hit;
  }

  set(token: string, verified: VerifiedToken): void {
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(token, verified);
  }

  clear(): void {
    this.entries.clear();
  }
}

export class TokenService {
  private readonly repo = new SigningKeyRepository();
  private keys = new Map<string, Key>();
  private signer: Key | undefined;
  private readonly cache = new VerifiedCache(10_000);
  private generation = 0;
  /** Key ids that no reload found, until when (ms) they are refused without another. */
  private readonly misses = new Map<string, number>();
  private lastMissReload = 0;
  private missReload: Promise<void> | undefined;

  /** @param keyRing encrypts and decrypts the private keys in the database */
  constructor(
    private readonly db: Kysely<Database>,
    readonly ttlSeconds: number,
    readonly keyRing: KeyRing,
  ) {}

  /**
   * Encrypts the private keys stored in plain text or under the previous key-encryption key, loads
   * the keys, creates the first one on a new database. Fails when a key is encrypted under a
   * key-encryption key this server was not given.
   */
  async init(): Promise<void> {
    for (const row of await this.repo.all(this.db)) {
      if (KeyRing.sealedWith(row.private_jwk) === this.keyRing.currentId) continue;
      const sealed = this.keyRing.seal(this.privateJwk(row), row.kid);
      await this.repo.replacePrivateJwk(this.db, row.kid, row.private_jwk, sealed);
    }
    await this.reload();
    if (!this.signer) {
      await this.rotate();
    }
  }

  /** A stored private key as JWK text: opened when encrypted; errors name the key and what to do. */
  private privateJwk(row: SigningKeyTable): string {
    if (!KeyRing.isSealed(row.private_jwk)) return row.private_jwk;
    try {
      return this.keyRing.open(row.private_jwk, row.kid);
    } catch (error) {
      if (error instanceof UnknownKeyError) {
        throw new Error(
          `The private signing key ${row.kid} is encrypted with the key-encryption key ${error.keyId}, which this server was not given ` +
            `(it has ${this.keyRing.currentId}). Set NELM_KEY_ENCRYPTION_KEY or NELM_KEY_ENCRYPTION_KEY_FILE to that key, or to ` +
            'a new key with NELM_KEY_ENCRYPTION_KEY_PREVIOUS or NELM_KEY_ENCRYPTION_KEY_PREVIOUS_FILE set to that one (docs/configuration.md).',
        );
      }
      throw new Error(`The private signing key ${row.kid} cannot be decrypted: its stored value was altered`);
    }
  }

  async reload(): Promise<void> {
    const rows = await this.repo.all(this.db);
    const keys = new Map<string, Key>();
    let signer: Key | undefined;
    for (const row of rows) {
      const key: Key = {
        kid: row.kid,
        publicKey: (await importJWK(JSON.parse(row.public_jwk) as JWK, ALG)) as CryptoKey,
      };
      if (row.retired === null && !signer) {
        key.privateKey = (await importJWK(JSON.parse(this.privateJwk(row)) as JWK, ALG)) as CryptoKey;
        signer = key;
      }
      keys.set(row.kid, key);
    }
    this.keys = keys;
    this.signer = signer;
  }

  /** Adds a new signing key; the previous ones keep verifying. Returns the new key id. */
  async rotate(): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(ALG, { crv: 'Ed25519', extractable: true });
    const kid = randomUUID().replaceAll('-', '');
    const now = new Date().toISOString();
    await this.repo.replaceSigner(this.db, {
      kid,
      alg: ALG,
      private_jwk: this.keyRing.seal(JSON.stringify(await exportJWK(privateKey)), kid),
      public_jwk: JSON.stringify(await exportJWK(publicKey)),
      created: now,
      retired: null,
    });
    await this.reload();
    return kid;
  }

  /** Deletes keys retired longer ago than a token lives: no valid token can name them any more. */
  async prune(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.ttlSeconds * 1000).toISOString();
    const deleted = await this.repo.deleteRetired(this.db, cutoff);
    await this.reload();
    return deleted;
  }

  /** The public keys, as a JWKS document. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const keys: JWK[] = [];
    for (const key of this.keys.values()) keys.push({ ...(await exportJWK(key.publicKey)), kid: key.kid, alg: ALG, use: 'sig' });
    return { keys };
  }

  async issue(subject: TokenSubject): Promise<{ token: string; expiresIn: number }> {
    if (!this.signer?.privateKey) throw new Error('no signing key');
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({
      tenant_id: subject.tenantId,
      identity_id: subject.identityId,
      user_name: subject.alias,
      client_id: subject.clientId,
      authorities: subject.admin ? ['ORG_ADMIN'] : [],
      rights: [...subject.rights],
      scope: ['sp:scopes:all'],
    })
      .setProtectedHeader({ alg: ALG, kid: this.signer.kid, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(subject.identityId)
      .setIssuedAt(now)
      .setJti(randomUUID())
      .setExpirationTime(now + this.ttlSeconds)
      .sign(this.signer.privateKey);
    return { token, expiresIn: this.ttlSeconds };
  }

  /** A token this service verified before, that has not expired or been forgotten since. */
  verifiedFromCache(token: string): VerifiedToken | undefined {
    return this.cache.get(token, Math.floor(Date.now() / 1000));
  }

  /**
   * Whether a token verified before (kept by the caller, e.g. per connection) still stands: not
   * expired, not forgotten since (the same test as the cache's, without looking the token up).
   */
  stillVerified(verified: VerifiedToken): boolean {
    return verified.generation === this.generation && verified.exp > Math.floor(Date.now() / 1000);
  }

  /** Verifies a bearer token; throws TokenError with a client-safe reason. */
  async verify(token: string): Promise<VerifiedToken> {
    const cached = this.verifiedFromCache(token);
    if (cached) return cached;

    if (!isCanonical(token)) throw new TokenError('JWT validation failed: malformed token');
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw new TokenError('JWT validation failed: malformed token');
    }
    const key = kid === undefined ? undefined : (this.keys.get(kid) ?? (await this.keyAfterReload(kid)));
    if (!key) throw new TokenError('JWT validation failed: unknown signing key');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key.publicKey, { issuer: ISSUER, algorithms: [ALG], requiredClaims: ['exp'] }));
    } catch (error) {
      const { code, claim } = error as { code?: string; claim?: string };
      if (code === 'ERR_JWT_EXPIRED') throw new TokenError('JWT validation failed: JWT is expired');
      if (claim === 'exp') throw new TokenError('JWT validation failed: JWT has no expiry');
      throw new TokenError('JWT validation failed: invalid signature or claims');
    }
    const exp = payload.exp as number;
    const longest = Math.floor(Date.now() / 1000) + this.ttlSeconds + CLOCK_SKEW;
    if (exp > longest || (typeof payload.iat === 'number' && exp - payload.iat > this.ttlSeconds)) {
      throw new TokenError('JWT validation failed: JWT lives longer than tokens may');
    }
    const verified: VerifiedToken = { principal: toPrincipal(payload), exp: Number(payload.exp), generation: this.generation };
    this.cache.set(token, verified);
    return verified;
  }

  /**
   * The key `kid` names when another process rotated it in since the keys were loaded. A flood of
   * unknown key ids costs few queries: a key id that a reload did not find is refused without
   * another for a while, and such reloads run at most once per interval (concurrent callers share
   * one).
   */
  private async keyAfterReload(kid: string): Promise<Key | undefined> {
    const now = Date.now();
    if ((this.misses.get(kid) ?? 0) > now) return undefined;
    if (!this.missReload) {
      if (now - this.lastMissReload < RELOAD_INTERVAL_MS) return undefined;
      this.lastMissReload = now;
      this.missReload = this.reload().finally(() => {
        this.missReload = undefined;
      });
    }
    await this.missReload;
    const key = this.keys.get(kid);
    this.misses.delete(kid);
    if (!key) {
      if (this.misses.size >= MAX_MISSES) this.misses.delete(this.misses.keys().next().value as string);
      this.misses.set(kid, Date.now() + MISS_MEMORY_MS);
    }
    return key;
  }

  /** Forgets verified tokens (after a client or identity is deleted), those kept elsewhere too. */
  forgetVerified(): void {
    this.cache.clear();
    this.generation++;
  }
}

/** Three segments of base64url without padding, each the encoding of what it decodes to. */
function isCanonical(token: string): boolean {
  const segments = token.split('.');
  return segments.length === 3 && segments.every((s) => SEGMENT.test(s) && Buffer.from(s, 'base64url').toString('base64url') === s);
}

function toPrincipal(payload: Record<string, unknown>): Principal {
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
  const tenantId = str(payload.tenant_id);
  const identityId = str(payload.identity_id);
  const alias = str(payload.user_name);
  const clientId = str(payload.client_id);
  if (!tenantId || !identityId || !alias || !clientId) throw new TokenError('JWT validation failed: missing claims');
  const authorities = Array.isArray(payload.authorities) ? payload.authorities : [];
  const rights = Array.isArray(payload.rights) ? payload.rights.filter((r): r is Right => typeof r === 'string' && isRight(r)) : [];
  return { tenantId, identityId, alias, clientId, admin: authorities.includes('ORG_ADMIN'), rights: new Set(rights) };
}
