/**
 * One-time passwords (src/auth/totp.ts) against the test vectors of RFC 4226 (appendix D) and
 * RFC 6238 (appendix B), base32 against RFC 4648's, and the drift window and replay rule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { base32Decode, base32Encode, hotp, matchingStep, otpauthUri, totp, totpStep } from '../../src/auth/totp.js';

const ascii = (text: string) => Buffer.from(text, 'ascii');

test('HOTP: RFC 4226 appendix D, counters 0 to 9', () => {
  const key = ascii('12345678901234567890');
  const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  assert.deepEqual(
    expected.map((_, counter) => hotp(key, counter)),
    expected,
  );
});

test('TOTP: RFC 6238 appendix B, 8 digits, SHA-1, SHA-256 and SHA-512', () => {
  const keys = {
    sha1: ascii('12345678901234567890'),
    sha256: ascii('12345678901234567890123456789012'),
    sha512: ascii('1234567890123456789012345678901234567890123456789012345678901234'),
  };
  const vectors: [number, string, string, string][] = [
    [59, '94287082', '46119246', '90693936'],
    [1111111109, '07081804', '68084774', '25091201'],
    [1111111111, '14050471', '67062674', '99943326'],
    [1234567890, '89005924', '91819424', '93441116'],
    [2000000000, '69279037', '90698825', '38618901'],
    [20000000000, '65353130', '77737706', '47863826'],
  ];
  for (const [seconds, sha1, sha256, sha512] of vectors) {
    assert.equal(totp(keys.sha1, seconds * 1000, 8, 'sha1'), sha1, `SHA-1 at ${seconds}`);
    assert.equal(totp(keys.sha256, seconds * 1000, 8, 'sha256'), sha256, `SHA-256 at ${seconds}`);
    assert.equal(totp(keys.sha512, seconds * 1000, 8, 'sha512'), sha512, `SHA-512 at ${seconds}`);
  }
  // The console's 6 digits are the last 6 of the same value.
  assert.equal(totp(keys.sha1, 59_000), '287082');
});

test('base32: RFC 4648 section 10 vectors, both ways', () => {
  const vectors: [string, string][] = [
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ];
  for (const [plain, encoded] of vectors) {
    assert.equal(base32Encode(ascii(plain)), encoded);
    assert.equal(base32Decode(encoded)?.toString('ascii'), plain);
    assert.equal(base32Decode(`${encoded.toLowerCase()}======`)?.toString('ascii'), plain, 'lower case and padding');
  }
  assert.equal(base32Decode('MZXW1'), undefined, '1 is not a base32 digit');
});

test('a code matches its step and one step either side, not two; a used step is not taken again', () => {
  const key = ascii('12345678901234567890');
  const at = 1111111111 * 1000;
  const now = totpStep(at);
  for (const offset of [-1, 0, 1]) assert.equal(matchingStep(key, hotp(key, now + offset), at, null), now + offset);
  for (const offset of [-2, 2]) assert.equal(matchingStep(key, hotp(key, now + offset), at, null), undefined);
  assert.equal(matchingStep(key, hotp(key, now), at, now), undefined, 'the same step again');
  assert.equal(matchingStep(key, hotp(key, now), at, now - 1), now, 'a later step than the last used');
  assert.equal(matchingStep(key, hotp(key, now - 1), at, now - 1), undefined, 'an earlier step after a later one was used');
  assert.equal(matchingStep(key, '12345', at, null), undefined);
  assert.equal(matchingStep(key, '', at, null), undefined);
});

test('the otpauth URI names the issuer, the account and the parameters', () => {
  const secret = ascii('12345678901234567890');
  assert.equal(
    otpauthUri('nelm', 'jane.doe', secret),
    'otpauth://totp/nelm:jane.doe?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=nelm&algorithm=SHA1&digits=6&period=30',
  );
  assert.match(otpauthUri('nelm', 'a b/c', secret), /^otpauth:\/\/totp\/nelm:a%20b%2Fc\?/);
});
