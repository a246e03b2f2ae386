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

/** A key as shown in a field path, its unstorable characters written as `\uXXXX`. */
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
