/**
 * Client secrets and passwords: hashed with scrypt at the configured cost, each hash verifiable
 * whatever the cost is now. The other tests hash at the lowest cost (test/helpers/app.ts); the
 * default costs are checked here, one hash each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PASSWORD_HASH_COST, PasswordHasher } from '../../src/auth/passwords.js';
import { DEFAULT_SECRET_HASH_COST, SecretHasher, newSecret } from '../../src/auth/secrets.js';
import { loadConfig } from '../../src/config/config.js';

test('the default cost is N = 2^15, and a hash made at it verifies (the one secret hashed at full cost in the suite)', async () => {
  assert.equal(DEFAULT_SECRET_HASH_COST, 15);
  const hasher = new SecretHasher();
  const secret = newSecret();
  const stored = await hasher.hash(secret);
  assert.match(stored, /^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
  assert.ok(!stored.includes(secret));
  assert.equal(await hasher.verify(secret, stored), true);
  assert.equal(await hasher.verify(`${secret}x`, stored), false);
});

test('passwords: the default cost is N = 2^17 (the configuration default), and a hash made at it verifies (the one password hashed at full cost)', async () => {
  assert.equal(DEFAULT_PASSWORD_HASH_COST, 17);
  assert.equal(loadConfig({}).sessions.passwordHashCost, 17);
  const hasher = new PasswordHasher(DEFAULT_PASSWORD_HASH_COST);
  const stored = await hasher.hash('Heron-Quartz-Lantern-1987');
  assert.match(stored, /^scrypt\$131072\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
  assert.equal(await hasher.verify('Heron-Quartz-Lantern-1987', stored), true);
  assert.equal(await hasher.verify('Heron-Quartz-Lantern-1988', stored), false);
});

test('a hash records its own cost: hashes made at another cost still verify', async () => {
  const cheap = await new SecretHasher(10).hash('s3cret-s3cret-s3cret');
  assert.match(cheap, /^scrypt\$1024\$8\$1\$/);
  assert.equal(await new SecretHasher(12).verify('s3cret-s3cret-s3cret', cheap), true);
  assert.equal(await new SecretHasher(12).verify('s3cret-s3cret-s3cret-', cheap), false);
  assert.notEqual(await new SecretHasher(10).hash('s3cret-s3cret-s3cret'), cheap, 'salted');
});

test('a stored value that is not a scrypt hash verifies nothing', async () => {
  const hasher = new SecretHasher(10);
  for (const stored of ['', 'plain', 'bcrypt$1$2$3$4$5', 'scrypt$1024$8$1$$']) assert.equal(await hasher.verify('anything', stored), false, stored);
});
