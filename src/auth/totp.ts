/**
 * One-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238) with node:crypto, and the base32 text
 * (RFC 4648) authenticator apps read secrets in. The console uses HMAC-SHA1, 30-second steps and
 * 6 digits, what every authenticator app supports; the other hashes and lengths are here for the
 * RFCs' test vectors.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** 160 bits, the length RFC 4226 recommends (and HMAC-SHA1's output). */
const SECRET_BYTES = 20;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export type OtpHash = 'sha1' | 'sha256' | 'sha512';

/** RFC 4226's HOTP value of `counter`: dynamic truncation of the HMAC, `digits` decimal digits. */
export function hotp(key: Buffer, counter: number, digits = TOTP_DIGITS, hash: OtpHash = 'sha1'): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(hash, key).update(message).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The TOTP time step of a moment (ms since the epoch). */
export function totpStep(ms: number): number {
  return Math.floor(ms / 1000 / TOTP_PERIOD_SECONDS);
}

/** RFC 6238's TOTP value at a moment (ms since the epoch). */
export function totp(key: Buffer, ms: number, digits = TOTP_DIGITS, hash: OtpHash = 'sha1'): string {
  return hotp(key, totpStep(ms), digits, hash);
}

/**
 * The time step whose code `code` is, at `ms` with one step of clock drift either way, taking only
 * steps after `after` (a code used once is not taken again); undefined when none matches. Every
 * candidate is compared, in constant time.
 */
export function matchingStep(key: Buffer, code: string, ms: number, after: number | null): number | undefined {
  const now = totpStep(ms);
  const sent = Buffer.from(code);
  let found: number | undefined;
  for (const step of [now - 1, now, now + 1]) {
    const expected = Buffer.from(hotp(key, step));
    const same = expected.length === sent.length && timingSafeEqual(expected, sent);
    if (same && (after === null || step > after) && found === undefined) found = step;
  }
  return found;
}

/** A new random secret. */
export function newTotpSecret(): Buffer {
  return randomBytes(SECRET_BYTES);
}

/** RFC 4648 base32, upper case, without padding (as otpauth URIs carry it). */
export function base32Encode(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** Decodes base32 (any case, padding and spaces ignored); undefined when it holds another character. */
export function base32Decode(text: string): Buffer | undefined {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of clean) {
    const index = BASE32.indexOf(char);
    if (index < 0) return undefined;
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The `otpauth://` URI an authenticator app reads (as a QR code or pasted) for a secret. */
export function otpauthUri(issuer: string, account: string, secret: Buffer): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  return `otpauth://totp/${label}?secret=${base32Encode(secret)}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=${TOTP_DIGITS}&period=${TOTP_PERIOD_SECONDS}`;
}
