/**
 * People's passwords: what a password must be, and how it is hashed.
 *
 * Hashed with scrypt (memory-hard) by the same hasher as client secrets, at a higher cost:
 * N = 2^17, r = 8, p = 1 by default (128 MiB and a few hundred ms a check; `NELM_PASSWORD_HASH_COST`).
 * A hash records its own parameters, so a changed cost applies to passwords set from then on.
 *
 * A password is refused when it is:
 * - shorter than 12 or longer than 256 characters;
 * - made of fewer than 5 different characters (`aaaaaaaaaaaa`, `abababababab`);
 * - one run of a sequence (`123456789012`, `abcdefghijkl`, `qwertyuiopas`, `9876543210ab`…);
 * - a common password: once lowercased, with look-alike digits and symbols read as letters
 *   (`p@ssw0rd`) and digits and symbols around it left out, one of a few words that people use
 *   as passwords, repeated or not (`Password123!`, `qwertyqwerty`, `Welcome2024!!`);
 * - built on who the identity is: it holds the alias, the email's local part, or a word of the name
 *   (of 3 characters or more), in any case.
 * The common words are written here from the rules above, not copied from a published list.
 */
import { SecretHasher } from './secrets.js';

/** log2 of scrypt's N for passwords (NELM_PASSWORD_HASH_COST). */
export const DEFAULT_PASSWORD_HASH_COST = 17;
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

/** Hashes and checks passwords (`scrypt$N$r$p$salt$hash`). */
export class PasswordHasher extends SecretHasher {}

/** Words that people choose as passwords, and the names of this product. */
const COMMON_WORDS = [
  'password',
  'passwort',
  'passw',
  'pass',
  'qwerty',
  'azerty',
  'qwertz',
  'letmein',
  'welcome',
  'admin',
  'administrator',
  'iloveyou',
  'monkey',
  'dragon',
  'football',
  'baseball',
  'soccer',
  'sunshine',
  'princess',
  'trustno',
  'master',
  'shadow',
  'secret',
  'changeme',
  'default',
  'login',
  'hello',
  'freedom',
  'whatever',
  'superman',
  'batman',
  'starwars',
  'computer',
  'internet',
  'summer',
  'winter',
  'spring',
  'autumn',
  'michael',
  'jennifer',
  'charlie',
  'jordan',
  'hunter',
  'killer',
  'cookie',
  'chocolate',
  'flower',
  'lovely',
  'love',
  'test',
  'guest',
  'user',
  'root',
  'abc',
  'nelm',
  'sailpoint',
  'company',
];

/** Rows of keys and alphabets whose runs are sequences (either direction). */
const SEQUENCES = [
  '0123456789',
  'abcdefghijklmnopqrstuvwxyz',
  'qwertyuiopasdfghjklzxcvbnm',
  'azertyuiopqsdfghjklmwxcvbn',
  'qwertzuiopasdfghjklyxcvbnm',
  '1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p',
];

const LOOK_ALIKES: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '@': 'a', $: 's', '!': 'i', '|': 'l' };

/** Who the password is for: parts of it must not appear in it. */
export interface PasswordOwner {
  alias: string;
  name?: string | null | undefined;
  email?: string | null | undefined;
}

/** True when every step from one character to the next follows one sequence, wrapping at its end. */
function isSequenceRun(text: string): boolean {
  for (const sequence of SEQUENCES) {
    for (const row of [sequence, [...sequence].reverse().join('')]) {
      const doubled = row + row;
      // The text may span several laps of the row (`1234567890123`).
      const start = doubled.indexOf(text.slice(0, Math.min(text.length, row.length)));
      if (start < 0) continue;
      let ok = true;
      for (let i = 0; i < text.length && ok; i++) ok = text[i] === row[(start + i) % row.length];
      if (ok) return true;
    }
  }
  return false;
}

/** The text left once a common word, repeated, is taken out (`''`: nothing but the word). */
function withoutCommonWords(letters: string): string {
  let rest = letters;
  for (const word of [...COMMON_WORDS].sort((a, b) => b.length - a.length)) rest = rest.replaceAll(word, '');
  return rest;
}

/** Why `password` is refused, as a sentence naming `password`; undefined when it is acceptable. */
export function passwordProblem(password: string, owner: PasswordOwner): string | undefined {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return `password must be at least ${MIN_PASSWORD_LENGTH} characters long`;
  if (length > MAX_PASSWORD_LENGTH) return `password must be at most ${MAX_PASSWORD_LENGTH} characters long`;
  const lower = password.toLowerCase();
  if (new Set(lower).size < 5) return 'password must hold at least 5 different characters';
  if (isSequenceRun(lower)) return 'password must not be a run of a sequence such as 123456789012 or qwertyuiopas';
  const readAsLetters = (text: string) => [...text].map((c) => LOOK_ALIKES[c] ?? c).join('');
  const trimmed = (text: string) => text.replace(/^[^a-z]+|[^a-z]+$/g, '');
  // Digits and symbols around the word left out before (`Password123!`) or after (`@dmin2024`) reading look-alikes.
  const cores = [readAsLetters(trimmed(lower)), trimmed(readAsLetters(lower))];
  if (cores.some((core) => withoutCommonWords(core) === '' || withoutCommonWords(core.replace(/[^a-z]/g, '')) === ''))
    return 'password is too common: choose one that is not built on a common word';
  const email = owner.email?.split('@')[0];
  const personal = [owner.alias, email, ...(owner.name ?? '').split(/[\s.,'-]+/)].filter((part): part is string => !!part && part.length >= 3);
  if (personal.some((part) => lower.includes(part.toLowerCase()))) return "password must not hold the identity's alias, email or name";
  return undefined;
}
