/** The key-encryption key: its configuration, sealing and opening, the key file created at first start. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeKey, KeyRing, keyId, loadKeyRing, UnknownKeyError } from '../../src/auth/key-encryption.js';
import { INSTALL_DIR, loadConfig } from '../../src/config/config.js';

test('NELM_KEY_ENCRYPTION_KEY takes 32 bytes as base64, base64url or hex; the error never echoes the value', () => {
  const key = randomBytes(32);
  for (const text of [key.toString('base64'), key.toString('base64url'), key.toString('hex'), ` ${key.toString('hex')}\n`]) {
    const source = loadConfig({ NELM_KEY_ENCRYPTION_KEY: text }).keyEncryptionKey;
    assert.deepEqual(source, { kind: 'value', key });
  }
  for (const bad of ['secret', randomBytes(16).toString('base64'), randomBytes(33).toString('hex'), `${key.toString('base64')}==`]) {
    assert.throws(
      () => loadConfig({ NELM_KEY_ENCRYPTION_KEY: bad }),
      (error: Error) => /NELM_KEY_ENCRYPTION_KEY must be 32 bytes/.test(error.message) && !error.message.includes(bad),
    );
  }
  assert.throws(() => loadConfig({ NELM_KEY_ENCRYPTION_KEY: key.toString('hex'), NELM_KEY_ENCRYPTION_KEY_FILE: '/k' }), /exclude each other/);
  assert.throws(() => loadConfig({ NELM_KEY_ENCRYPTION_KEY_PREVIOUS: 'nope' }), /NELM_KEY_ENCRYPTION_KEY_PREVIOUS must be 32 bytes/);
});

test('without configuration: a key file next to the SQLite file, in data/ for PostgreSQL, none for an in-memory database', () => {
  assert.deepEqual(loadConfig({}).keyEncryptionKey, { kind: 'file', path: path.join(INSTALL_DIR, 'data', 'key-encryption.key'), create: true });
  assert.deepEqual(loadConfig({ DATABASE_URL: '/srv/nelm/db.sqlite' }).keyEncryptionKey, { kind: 'file', path: '/srv/nelm/key-encryption.key', create: true });
  assert.deepEqual(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).keyEncryptionKey, {
    kind: 'file',
    path: path.join(INSTALL_DIR, 'data', 'key-encryption.key'),
    create: true,
  });
  assert.deepEqual(loadConfig({ DATABASE_URL: ':memory:' }).keyEncryptionKey, { kind: 'ephemeral' });
  assert.deepEqual(loadConfig({ NELM_KEY_ENCRYPTION_KEY_FILE: '/etc/nelm/kek' }).keyEncryptionKey, { kind: 'file', path: '/etc/nelm/kek', create: false });
  assert.equal(loadConfig({}).keyEncryptionKeyPrevious, undefined);
});

test('sealed values open with the key and the context they were sealed with, and name their key', () => {
  const a = randomBytes(32);
  const b = randomBytes(32);
  const ring = new KeyRing(a, undefined);
  const sealed = ring.seal('{"d":"secret"}', 'kid1');
  assert.ok(KeyRing.isSealed(sealed));
  assert.ok(!sealed.includes('secret'));
  assert.notEqual(ring.seal('{"d":"secret"}', 'kid1'), sealed, 'a random IV each time');
  assert.equal(KeyRing.sealedWith(sealed), keyId(a));
  assert.equal(KeyRing.sealedWith('{"d":"x"}'), undefined);
  assert.equal(ring.open(sealed, 'kid1'), '{"d":"secret"}');
  assert.throws(() => ring.open(sealed, 'kid2'), 'bound to its context');
  assert.throws(
    () => new KeyRing(b, undefined).open(sealed, 'kid1'),
    (error: Error) => error instanceof UnknownKeyError && error.keyId === keyId(a),
  );
  assert.equal(new KeyRing(b, a).open(sealed, 'kid1'), '{"d":"secret"}', 'the previous key still opens');
  assert.equal(KeyRing.sealedWith(new KeyRing(b, a).seal('x', 'k')), keyId(b), 'the current key seals');
});

test('the default key file is created once, mode 0600, and read by later starts', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-kek-'));
  try {
    const file = path.join(dir, 'data', 'key-encryption.key');
    const first = loadKeyRing({ kind: 'file', path: file, create: true }, undefined);
    assert.equal(first.createdFile, file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(keyId(decodeKey(readFileSync(file, 'utf8'))!), first.currentId);
    const again = loadKeyRing({ kind: 'file', path: file, create: true }, undefined);
    assert.equal(again.createdFile, undefined);
    assert.equal(again.currentId, first.currentId);
    assert.throws(() => loadKeyRing({ kind: 'file', path: path.join(dir, 'missing'), create: false }, undefined), /Cannot read the key-encryption key file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
