/**
 * Encryption at rest of the private signing keys: AES-256-GCM under a key-encryption key given by
 * configuration (a variable, a file, or a file created on first start). A stored value names the
 * key that sealed it, so a server given a new key and the previous one re-encrypts what the
 * previous one sealed. The key itself is never logged, stored in the database or returned.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const PREFIX = 'enc:v1:';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Where a key-encryption key comes from (config.ts builds these from the environment). */
export type KeySource =
  /** A variable's value, decoded. */
  | { kind: 'value'; key: Buffer }
  /** A file holding the key as base64 or hex; `create`: written, mode 0600, when missing. */
  | { kind: 'file'; path: string; create: boolean }
  /** A new random key for each start: for an in-memory database, which lives no longer. */
  | { kind: 'ephemeral' };

/** Decodes 32 bytes given as base64, base64url or hex; undefined when the text is not that. */
export function decodeKey(text: string): Buffer | undefined {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (!/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(t)) return undefined;
  const key = Buffer.from(t.replaceAll('-', '+').replaceAll('_', '/'), 'base64');
  return key.length === KEY_BYTES ? key : undefined;
}

/** A key's id: the first 16 hex digits of the SHA-256 of its 32 bytes (it reveals nothing of the key). */
export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** A stored value sealed under a key this server was not given. */
export class UnknownKeyError extends Error {
  constructor(readonly keyId: string) {
    super(`sealed under key-encryption key ${keyId}, which this server was not given`);
    this.name = 'UnknownKeyError';
  }
}

export class KeyRing {
  readonly currentId: string;
  private readonly keys = new Map<string, Buffer>();

  /**
   * @param current seals; it and `previous` open
   * @param createdFile the key file this start created, to be told once (never the key)
   */
  constructor(
    current: Buffer,
    previous: Buffer | undefined,
    readonly createdFile?: string,
  ) {
    this.currentId = keyId(current);
    if (previous) this.keys.set(keyId(previous), previous);
    this.keys.set(this.currentId, current);
  }

  /** Whether `stored` is sealed (by any key), rather than plain text. */
  static isSealed(stored: string): boolean {
    return stored.startsWith(PREFIX);
  }

  /** The id of the key that sealed `stored`; undefined for plain text. */
  static sealedWith(stored: string): string | undefined {
    return KeyRing.isSealed(stored) ? stored.slice(PREFIX.length).split(':')[0] : undefined;
  }

  /** Seals `plain` under the current key; `context` (e.g. the signing key's id) must match to open. */
  seal(plain: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentId)!, iv);
    cipher.setAAD(Buffer.from(context));
    const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${PREFIX}${this.currentId}:${iv.toString('base64url')}:${sealed.toString('base64url')}`;
  }

  /** Opens a sealed value; throws UnknownKeyError when its key is not in the ring. */
  open(stored: string, context: string): string {
    const [id = '', iv = '', sealed = ''] = stored.slice(PREFIX.length).split(':');
    const key = this.keys.get(id);
    if (!key) throw new UnknownKeyError(id);
    const bytes = Buffer.from(sealed, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}

/** Builds the ring the configuration names; creates the key file when it is the default and missing. */
export function loadKeyRing(current: KeySource, previous: KeySource | undefined): KeyRing {
  const created: string[] = [];
  const resolve = (source: KeySource): Buffer => {
    if (source.kind === 'value') return source.key;
    if (source.kind === 'ephemeral') return randomBytes(KEY_BYTES);
    let text: string;
    try {
      text = readFileSync(source.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !source.create) {
        throw new Error(`Cannot read the key-encryption key file ${source.path}: ${(error as Error).message}`);
      }
      if (createKeyFile(source.path)) created.push(source.path);
      text = readFileSync(source.path, 'utf8');
    }
    const key = decodeKey(text);
    if (!key) throw new Error(`The key-encryption key file ${source.path} must hold 32 bytes as base64 or hex`);
    return key;
  };
  return new KeyRing(resolve(current), previous && resolve(previous), created[0]);
}

/**
 * Writes a new random key to `file`, mode 0600, unless another process wrote it first (it is
 * written whole to a temporary file, then linked into place, which fails if the file exists).
 * Whether this call created it.
 */
function createKeyFile(file: string): boolean {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temp);
  }
}
