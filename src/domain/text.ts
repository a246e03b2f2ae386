/**
 * Text that both databases store as it was sent. PostgreSQL refuses U+0000 in `text` and `jsonb`
 * (SQLite would keep it), and an unpaired UTF-16 surrogate has no UTF-8 form (either engine would
 * keep U+FFFD or garbage instead of what the API answered). Such text is refused where it enters:
 * JSON and form bodies, query strings and path parameters (src/app.ts), the token endpoint's
 * multipart fields, an upload's file name. CSV content is refused by the CSV reader (NUL bytes,
 * bytes that are not UTF-8).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what is looked for.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/** A key as shown in a field path, its unstorable characters written as `\u` escapes (`\u0000`). */
function shown(key: string): string {
  return key.replace(UNSTORABLE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The field path (`approvers[0].id`, `filters`) of the first string or property name in `value`
 * that is not storable text, `root` for `value` itself; undefined when there is none. Iterative, so
 * any nesting depth is safe.
 */
export function unstorableTextAt(value: unknown, root: string): string | undefined {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (typeof node === 'string') {
      if (!isStorableText(node)) return path;
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], `${path}[${i}]`]);
    } else if (typeof node === 'object' && node !== null) {
      const keys = Object.keys(node);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        const at = path ? `${path}.${shown(key)}` : shown(key);
        if (!isStorableText(key)) return at;
        stack.push([(node as Record<string, unknown>)[key], at]);
      }
    }
  }
  return undefined;
}

/** The sentence a cause carries for such a field. */
export function unstorableTextMessage(field: string): string {
  return `${field} contains a NUL character (U+0000) or an unpaired UTF-16 surrogate, which this server does not store`;
}

/** The form in which names compare regardless of case (accountNames, aliases). */
export function caselessKey(name: string): string {
  return name.toLowerCase();
}

/**
 * Control characters: C0 (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F). Single-line text
 * (names, ids, dates, addresses, `data` values, file names) holds none: a line break or an escape
 * sequence there would forge lines in a mail, a log or a terminal. Multi-line text (descriptions,
 * help texts, comments) may hold line breaks (LF or CR LF) and TAB, and no other one.
 */
export type TextKind = 'single-line' | 'multi-line';

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is looked for.
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above, less TAB, LF and the CR of CR LF.
const CONTROL_BUT_LINE_BREAKS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|\r(?!\n)/;

function codePoint(c: string): string {
  return `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * The sentence a cause carries when `value` of `field` holds a control character its kind does
 * not allow (naming the first one); undefined when it holds none.
 */
export function controlCharacterProblem(field: string, value: string, kind: TextKind = 'single-line'): string | undefined {
  const found = (kind === 'single-line' ? CONTROL : CONTROL_BUT_LINE_BREAKS).exec(value)?.[0];
  if (found === undefined) return undefined;
  return kind === 'single-line'
    ? `${field} contains a control character (${codePoint(found)}); it must be a single line of text without control characters`
    : `${field} contains a control character (${codePoint(found)}); besides line breaks (LF or CR LF) and tabs it must hold none`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is replaced.
const LINE_BREAKING = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above, less TAB.
const LINE_BREAKING_BUT_TAB = /[\u0000-\u0008\u000A-\u001F\u007F-\u009F\u2028\u2029]/g;

/**
 * `text` on one line whatever it holds: every control character, and the Unicode line and
 * paragraph separators (U+2028, U+2029), written as `\u` escapes of four hex digits (`\u000d`); TAB kept with `keepTabs`.
 * For text a reader must not mistake for structure (a line of a mail, a header).
 */
export function asOneLine(text: string, keepTabs = false): string {
  return text.replace(keepTabs ? LINE_BREAKING_BUT_TAB : LINE_BREAKING, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
