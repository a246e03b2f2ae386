import { randomFillSync } from 'node:crypto';

/**
 * Ids of sources, records, requests, approval items, schema attributes and bulk jobs are dashed
 * RFC 9562 UUIDs, version 7 (a millisecond timestamp first, so new rows land at the end of an
 * id index). Identities, API clients and governance groups keep SailPoint's 32 lowercase hex.
 * Ids stored in the 32-hex form before keep it. On input both spellings name the same object:
 * a lookup tries `idSpellings(value)`.
 */
export const ID_PATTERN = '^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$';
const ID_REGEX = new RegExp(ID_PATTERN);

export function isId(value: string): boolean {
  return ID_REGEX.test(value);
}

/** The 32-hex form: how identity ids are stored. */
export function normalizeId(value: string): string {
  return value.replaceAll('-', '').toLowerCase();
}

/** 32 hex digits in the dashed 8-4-4-4-12 form. */
function dashed(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The two spellings an object id may be stored under: the dashed and the 32-hex form of `value`
 * (lowercase); `value` twice when it is not an id (it then matches nothing).
 */
export function idSpellings(value: string): [string, string] {
  if (!isId(value)) return [value, value];
  const hex = normalizeId(value);
  return [dashed(hex), hex];
}

const pool = Buffer.alloc(4096);
let poolAt = pool.length;

/** A new UUID version 7 (RFC 9562 §5.7), lowercase and dashed. */
export function newUuid(now = Date.now()): string {
  if (poolAt + 10 > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const bytes = Buffer.alloc(16);
  bytes.writeUIntBE(now, 0, 6);
  pool.copy(bytes, 6, poolAt, poolAt + 10);
  poolAt += 10;
  bytes[6] = 0x70 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  return dashed(bytes.toString('hex'));
}

export function nowIso(): string {
  return new Date().toISOString();
}

/** Now, or 1 ms after `previous` if now is not later: a `modified` that tells every write apart. */
export function laterThan(previous: string): string {
  const now = nowIso();
  return now > previous ? now : new Date(Date.parse(previous) + 1).toISOString();
}
