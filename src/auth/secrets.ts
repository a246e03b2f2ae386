/**
 * Client secrets: generated with a CSPRNG, shown once, stored as a salted scrypt hash, memory-hard:
 * N = 2^cost (cost 15 by default, about 50 ms a check), r = 8, p = 1. A hash records its own
 * parameters, so a changed cost applies to secrets hashed from then on and every stored hash
 * still verifies.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** log2 of scrypt's N (NELM_SECRET_HASH_COST). */
export const DEFAULT_SECRET_HASH_COST = 15;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
const MAX_MEM = 256 * 1024 * 1024;

function derive(secret: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(secret, salt, KEY_LENGTH, { N: n, r, p, maxmem: MAX_MEM }, (err, key) => (err ? reject(err) : resolve(key))));
}

export class SecretHasher {
  constructor(readonly cost = DEFAULT_SECRET_HASH_COST) {}

  async hash(secret: string): Promise<string> {
    const n = 2 ** this.cost;
    const salt = randomBytes(16);
    const key = await derive(secret, salt, n, R, P);
    return ['scrypt', n, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
  }

  async verify(secret: string, stored: string): Promise<boolean> {
    const [scheme, n, r, p, salt, hash] = stored.split('$');
    if (scheme !== 'scrypt' || !salt || !hash) return false;
    const expected = Buffer.from(hash, 'base64url');
    const actual = await derive(secret, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
}

const ID_POOL_BYTES = 4096;
let idPool = Buffer.alloc(0);
let idPoolAt = 0;

/**
 * 32 lowercase hex characters, the shape of SailPoint's identity ids (identities, API clients,
 * governance groups, a source's ISC `sourceId`, tracking ids). The random
 * bytes come from the CSPRNG 4 KiB at a time, as `crypto.randomUUID` does: one `randomBytes(16)`
 * per id cost about as much as the rest of a small request's routing.
 */
export function newId(): string {
  if (idPoolAt + 16 > idPool.length) {
    idPool = randomBytes(ID_POOL_BYTES);
    idPoolAt = 0;
  }
  const id = idPool.toString('hex', idPoolAt, idPoolAt + 16);
  idPoolAt += 16;
  return id;
}

export function newSecret(): string {
  return randomBytes(32).toString('hex');
}
