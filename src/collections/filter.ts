/**
 * A parser for SailPoint's V3 `filters` grammar (SailPoint's "V3 API Standard Collection Parameters"), producing an AST that
 * `query.ts` compiles to SQL against a per-endpoint whitelist.
 *
 *   expr       := orExpr
 *   orExpr     := andExpr ( 'or' andExpr )*
 *   andExpr    := unary ( 'and' unary )*
 *   unary      := 'not' unary | '(' orExpr ')' | comparison
 *   comparison := FIELD ( BINOP value | LISTOP '(' value ( ',' value )* ')' | 'pr' | 'isnull' )
 *   value      := STRING | NUMBER | 'true' | 'false' | 'null'
 *
 * Precedence is therefore not > and > or. Keywords and operators are lowercase only; `and`, `or`
 * and `not` are reserved and cannot be field names. Every syntax error is a 400 naming the
 * offending token and its 1-based position in the input.
 */
import { fail } from '../errors/api-error.js';

export type FilterOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le' | 'co' | 'sw' | 'ca' | 'in' | 'pr' | 'isnull';
export type Literal = string | number | boolean | null;
export type FilterNode =
  | { kind: 'and' | 'or'; items: FilterNode[] }
  | { kind: 'not'; item: FilterNode }
  | { kind: 'compare'; field: string; op: FilterOp; value?: Literal; values?: Literal[] };

/** Abuse guards: inputs past these are rejected before (length) or while (the rest) parsing. */
export const FILTER_LIMITS = {
  /** characters in the whole filter text */
  maxLength: 4096,
  /** nested parentheses and `not`s, counted together */
  maxDepth: 16,
  /** comparisons in the whole expression */
  maxTerms: 50,
  /** values in one `in` (or `ca`) list */
  maxListSize: 250,
} as const;

const BINARY_OPS: ReadonlySet<string> = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'co', 'sw']);
const LIST_OPS: ReadonlySet<string> = new Set(['in', 'ca']);
const UNARY_OPS: ReadonlySet<string> = new Set(['pr', 'isnull']);
const RESERVED: ReadonlySet<string> = new Set(['and', 'or', 'not']);

const FIELD_RE = /^[A-Za-z0-9_.]+$/;
// JSON-like numbers only: no hex, no leading '+', no NaN/Infinity.
const NUMBER_RE = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/** The error every syntax or limit problem becomes. */
export function filterError(message: string) {
  const text = `Invalid filter: ${message}`;
  return fail.badRequest(text, [{ field: 'filters', text }]);
}

type Token =
  | { kind: '(' | ')' | ','; text: string; pos: number }
  | { kind: 'string'; text: string; value: string; pos: number }
  /** anything else: a run of characters up to whitespace, a parenthesis, a comma or a quote */
  | { kind: 'word'; text: string; pos: number }
  | { kind: 'end'; text: ''; pos: number };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '(' || ch === ')' || ch === ',') {
      tokens.push({ kind: ch, text: ch, pos: i + 1 });
      i++;
    } else if (ch === '"') {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= input.length) throw filterError(`unterminated string starting at position ${start + 1}`);
        const c = input[i]!;
        if (c === '"') break;
        if (c === '\\') {
          const next = input[i + 1];
          if (next !== '"' && next !== '\\') {
            const shown = next === undefined ? '\\' : `\\${next}`;
            throw filterError(`invalid escape '${shown}' at position ${i + 1}; only \\" and \\\\ are allowed`);
          }
          value += next;
          i += 2;
        } else {
          value += c;
          i++;
        }
      }
      i++; // the closing quote
      tokens.push({ kind: 'string', text: input.slice(start, i), value, pos: start + 1 });
    } else {
      const start = i;
      while (i < input.length && !/[\s(),"]/.test(input[i]!)) i++;
      tokens.push({ kind: 'word', text: input.slice(start, i), pos: start + 1 });
    }
  }
  tokens.push({ kind: 'end', text: '', pos: input.length + 1 });
  return tokens;
}

class Parser {
  private index = 0;
  private depth = 0;
  private terms = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): FilterNode {
    const node = this.orExpr();
    const rest = this.peek();
    if (rest.kind !== 'end') throw this.unexpected(rest);
    return node;
  }

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private next(): Token {
    const token = this.tokens[this.index]!;
    if (token.kind !== 'end') this.index++;
    return token;
  }

  private isWord(token: Token, text: string): boolean {
    return token.kind === 'word' && token.text === text;
  }

  private unexpected(token: Token, expected?: string) {
    const what = token.kind === 'end' ? 'unexpected end of input' : `unexpected token '${token.text}'`;
    return filterError(`${what} at position ${token.pos}${expected ? `; expected ${expected}` : ''}`);
  }

  private enter(token: Token): void {
    if (++this.depth > FILTER_LIMITS.maxDepth) {
      throw filterError(`nesting deeper than ${FILTER_LIMITS.maxDepth} levels at position ${token.pos}`);
    }
  }

  private orExpr(): FilterNode {
    const items = [this.andExpr()];
    while (this.isWord(this.peek(), 'or')) {
      this.next();
      items.push(this.andExpr());
    }
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  }

  private andExpr(): FilterNode {
    const items = [this.unary()];
    while (this.isWord(this.peek(), 'and')) {
      this.next();
      items.push(this.unary());
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  }

  private unary(): FilterNode {
    const token = this.peek();
    if (this.isWord(token, 'not')) {
      this.next();
      this.enter(token);
      const item = this.unary();
      this.depth--;
      return { kind: 'not', item };
    }
    if (token.kind === '(') {
      this.next();
      this.enter(token);
      const inner = this.orExpr();
      const close = this.next();
      if (close.kind !== ')') throw this.unexpected(close, "')' or a logical operator");
      this.depth--;
      return inner;
    }
    return this.comparison();
  }

  private comparison(): FilterNode {
    const fieldToken = this.next();
    if (fieldToken.kind !== 'word' || RESERVED.has(fieldToken.text) || !FIELD_RE.test(fieldToken.text)) {
      throw this.unexpected(fieldToken, "a field name, 'not' or '('");
    }
    if (++this.terms > FILTER_LIMITS.maxTerms) {
      throw filterError(`more than ${FILTER_LIMITS.maxTerms} comparisons (at position ${fieldToken.pos})`);
    }
    const field = fieldToken.text;
    const opToken = this.next();
    if (opToken.kind !== 'word') throw this.unexpected(opToken, 'an operator');
    const op = opToken.text;
    if (UNARY_OPS.has(op)) return { kind: 'compare', field, op: op as FilterOp };
    if (BINARY_OPS.has(op)) return { kind: 'compare', field, op: op as FilterOp, value: this.value() };
    if (LIST_OPS.has(op)) return { kind: 'compare', field, op: op as FilterOp, values: this.list() };
    throw filterError(`unknown operator '${op}' at position ${opToken.pos}; operators are lowercase: eq, ne, gt, ge, lt, le, co, sw, in, pr, isnull`);
  }

  private list(): Literal[] {
    const open = this.next();
    if (open.kind !== '(') throw this.unexpected(open, "'(' starting a value list");
    const values: Literal[] = [];
    for (;;) {
      const at = this.peek();
      values.push(this.value());
      if (values.length > FILTER_LIMITS.maxListSize) {
        throw filterError(`more than ${FILTER_LIMITS.maxListSize} values in a list (at position ${at.pos})`);
      }
      const sep = this.next();
      if (sep.kind === ')') return values;
      if (sep.kind !== ',') throw this.unexpected(sep, "',' or ')'");
    }
  }

  private value(): Literal {
    const token = this.next();
    if (token.kind === 'string') return token.value;
    if (token.kind === 'word') {
      if (token.text === 'true') return true;
      if (token.text === 'false') return false;
      if (token.text === 'null') return null;
      if (NUMBER_RE.test(token.text)) {
        const n = Number(token.text);
        if (Number.isFinite(n)) return n;
      }
    }
    throw this.unexpected(token, 'a value (a quoted string, a number, true, false or null)');
  }
}

/** Parses a `filters` query parameter; throws a 400 ApiError on any syntax or limit problem. */
export function parseFilter(text: string): FilterNode {
  if (text.length > FILTER_LIMITS.maxLength) {
    throw filterError(`longer than ${FILTER_LIMITS.maxLength} characters`);
  }
  const tokens = tokenize(text);
  if (tokens.length === 1) throw filterError('empty expression');
  return new Parser(tokens).parse();
}

/** The values compared with `field` anywhere in `node` (`eq`, `in`, and the rest). */
export function filterValues(node: FilterNode, field: string): Literal[] {
  switch (node.kind) {
    case 'and':
    case 'or':
      return node.items.flatMap((item) => filterValues(item, field));
    case 'not':
      return filterValues(node.item, field);
    case 'compare':
      if (node.field !== field) return [];
      return node.values ?? (node.value === undefined ? [] : [node.value]);
  }
}

/** `node` with every value compared with `field` passed through `map`. */
export function mapFilterValues(node: FilterNode, field: string, map: (value: Literal) => Literal): FilterNode {
  switch (node.kind) {
    case 'and':
    case 'or':
      return { kind: node.kind, items: node.items.map((item) => mapFilterValues(item, field, map)) };
    case 'not':
      return { kind: 'not', item: mapFilterValues(node.item, field, map) };
    case 'compare':
      if (node.field !== field) return node;
      return {
        ...node,
        ...(node.value === undefined ? {} : { value: map(node.value) }),
        ...(node.values === undefined ? {} : { values: node.values.map(map) }),
      };
  }
}
