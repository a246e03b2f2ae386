/**
 * How deep a JSON text nests, read before it is parsed: a body of nested arrays (`[[[[…]]]]`)
 * costs the parser and every walk over the parsed value far more than its size suggests, and no
 * valid body nests deeper than a handful of levels.
 */

/**
 * Levels of arrays and objects a JSON body may nest: room for a JSON Patch `value` at its own
 * limit (32 levels, src/domain/json-patch.ts) inside its operation and the operations' array.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Whether `text` nests arrays and objects deeper than `max` levels, counting brackets outside
 * strings. It stops at the first level past `max`; malformed text is left to the parser.
 */
export function nestsDeeperThan(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}
