/**
 * Tokenizer and Pratt parser of the expression language (docs/expressions.md). Every node and
 * every error carries the 0-based offset in the expression text, so messages can point at it.
 *
 * Precedence, loosest first: `or`; `and`; `not`; comparisons, `in`, `is null` (left-assoc);
 * `+ -`; `* / %`; unary `-`; calls and primaries.
 */
import { PolaroidError } from '../../pipeline/errors.ts';

/** A syntax, name or type error in an expression, with the offset it was found at. */
export class ExprError extends PolaroidError {
  readonly code: string;
  readonly retriable = false;
  /** 0-based offset in `text`. */
  readonly position: number;
  readonly text: string;
  /** The message without the position and the caret line. */
  readonly detail: string;

  constructor(
    code: 'POLAROID_EXPR_SYNTAX' | 'POLAROID_EXPR_TYPE' | 'POLAROID_EXPR_COLUMN',
    detail: string,
    text: string,
    position: number,
  ) {
    super(`${detail} at column ${position + 1}\n  ${text}\n  ${' '.repeat(position)}^`);
    this.code = code;
    this.position = position;
    this.text = text;
    this.detail = detail;
  }
}

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'and' | 'or';

export type Node =
  | { k: 'num'; value: number; pos: number }
  | { k: 'str'; value: string; pos: number }
  | { k: 'bool'; value: boolean; pos: number }
  | { k: 'null'; pos: number }
  | { k: 'col'; name: string; quoted: boolean; pos: number }
  | { k: 'neg'; arg: Node; pos: number }
  | { k: 'not'; arg: Node; pos: number }
  | { k: 'bin'; op: BinaryOp; left: Node; right: Node; pos: number }
  | { k: 'in'; arg: Node; list: Node[]; negated: boolean; pos: number }
  | { k: 'isnull'; arg: Node; negated: boolean; pos: number }
  | { k: 'call'; fn: string; args: Node[]; pos: number };

type TokKind = 'num' | 'str' | 'ident' | 'qident' | 'op' | 'end';

interface Token {
  kind: TokKind;
  text: string;
  /** Parsed value for numbers, unescaped text for strings and quoted identifiers. */
  value: string | number;
  pos: number;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'null', 'true', 'false']);
const OPS = ['==', '!=', '<>', '<=', '>=', '<', '>', '=', '+', '-', '*', '/', '%', '(', ')', '[', ']', ','];

/** Split an expression into tokens; whitespace separates, nothing else is skipped. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    if ((c >= '0' && c <= '9') || (c === '.' && text[i + 1] >= '0' && text[i + 1] <= '9')) {
      const m = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i))!;
      i += m[0].length;
      if (/^[A-Za-z_]/.test(text.slice(i)))
        throw new ExprError('POLAROID_EXPR_SYNTAX', `unexpected "${text[i]}" after the number`, text, i);
      out.push({ kind: 'num', text: m[0], value: Number(m[0]), pos: start });
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      let s = '';
      i++;
      for (;;) {
        if (i >= n)
          throw new ExprError(
            'POLAROID_EXPR_SYNTAX',
            c === "'" ? 'unterminated string' : 'unterminated quoted column name',
            text,
            start,
          );
        if (text[i] === c) {
          if (text[i + 1] === c) {
            s += c;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += text[i++];
      }
      out.push({ kind: c === "'" ? 'str' : 'qident', text: text.slice(start, i), value: s, pos: start });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      i += m[0].length;
      out.push({ kind: 'ident', text: m[0], value: m[0], pos: start });
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (!op) throw new ExprError('POLAROID_EXPR_SYNTAX', `unexpected character "${c}"`, text, i);
    i += op.length;
    out.push({ kind: 'op', text: op, value: op, pos: start });
  }
  out.push({ kind: 'end', text: '', value: '', pos: n });
  return out;
}

const COMPARISON: Record<string, BinaryOp> = {
  '==': '==',
  '=': '==',
  '!=': '!=',
  '<>': '!=',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
};

const BP_OR = 1;
const BP_AND = 2;
const BP_NOT = 3;
const BP_CMP = 4;
const BP_ADD = 5;
const BP_MUL = 6;
const BP_NEG = 7;

class Parser {
  private i = 0;
  constructor(
    private readonly text: string,
    private readonly toks: Token[],
  ) {}

  private peek(): Token {
    return this.toks[this.i];
  }

  private next(): Token {
    return this.toks[this.i++];
  }

  private isKeyword(t: Token, kw: string): boolean {
    return t.kind === 'ident' && t.text.toLowerCase() === kw;
  }

  private error(detail: string, pos: number): ExprError {
    return new ExprError('POLAROID_EXPR_SYNTAX', detail, this.text, pos);
  }

  private describe(t: Token): string {
    return t.kind === 'end' ? 'the end of the expression' : `"${t.text}"`;
  }

  private expectOp(op: string, what: string): Token {
    const t = this.next();
    if (t.kind !== 'op' || t.text !== op)
      throw this.error(`expected "${op}" ${what}, found ${this.describe(t)}`, t.pos);
    return t;
  }

  parseAll(): Node {
    const node = this.expr(0);
    const t = this.peek();
    if (t.kind !== 'end')
      throw this.error(`unexpected ${this.describe(t)}; expected an operator or the end`, t.pos);
    return node;
  }

  /** Binding power of the token as an infix/postfix operator (0 when it is none). */
  private infixPower(t: Token): number {
    if (t.kind === 'op') {
      if (t.text in COMPARISON) return BP_CMP;
      if (t.text === '+' || t.text === '-') return BP_ADD;
      if (t.text === '*' || t.text === '/' || t.text === '%') return BP_MUL;
      return 0;
    }
    if (t.kind !== 'ident') return 0;
    const w = t.text.toLowerCase();
    if (w === 'or') return BP_OR;
    if (w === 'and') return BP_AND;
    if (w === 'in' || w === 'is') return BP_CMP;
    if (w === 'not' && this.isKeyword(this.toks[this.i + 1], 'in')) return BP_CMP;
    return 0;
  }

  expr(minBp: number): Node {
    let left = this.prefix();
    for (;;) {
      const t = this.peek();
      const bp = this.infixPower(t);
      if (bp === 0 || bp <= minBp) break;
      this.next();
      const w = t.kind === 'ident' ? t.text.toLowerCase() : t.text;
      if (w === 'is') {
        const negated = this.isKeyword(this.peek(), 'not');
        if (negated) this.next();
        const nt = this.next();
        if (!this.isKeyword(nt, 'null'))
          throw this.error(
            `expected "null" after "is${negated ? ' not' : ''}", found ${this.describe(nt)}`,
            nt.pos,
          );
        left = { k: 'isnull', arg: left, negated, pos: t.pos };
      } else if (w === 'in' || w === 'not') {
        if (w === 'not') this.next();
        left = { k: 'in', arg: left, list: this.list(), negated: w === 'not', pos: t.pos };
      } else {
        const op: BinaryOp = w === 'and' || w === 'or' ? w : (COMPARISON[w] ?? (w as BinaryOp));
        const right = this.expr(bp);
        left = { k: 'bin', op, left, right, pos: t.pos };
      }
    }
    return left;
  }

  private list(): Node[] {
    const open = this.expectOp('[', 'to start the list after "in"');
    const items: Node[] = [];
    if (this.peek().kind === 'op' && this.peek().text === ']') {
      this.next();
      return items;
    }
    for (;;) {
      const item = this.prefix();
      if (item.k !== 'num' && item.k !== 'str' && item.k !== 'bool' && item.k !== 'null' && item.k !== 'neg')
        throw this.error('"in" lists hold literals only (numbers, strings, true, false, null)', item.pos);
      if (item.k === 'neg' && item.arg.k !== 'num')
        throw this.error('"in" lists hold literals only', item.pos);
      items.push(item);
      const t = this.next();
      if (t.kind === 'op' && t.text === ']') return items;
      if (!(t.kind === 'op' && t.text === ','))
        throw this.error(
          `expected "," or "]" in the list opened at column ${open.pos + 1}, found ${this.describe(t)}`,
          t.pos,
        );
    }
  }

  private prefix(): Node {
    const t = this.next();
    switch (t.kind) {
      case 'num':
        return { k: 'num', value: t.value as number, pos: t.pos };
      case 'str':
        return { k: 'str', value: t.value as string, pos: t.pos };
      case 'qident':
        if (t.value === '') throw this.error('empty quoted column name', t.pos);
        return { k: 'col', name: t.value as string, quoted: true, pos: t.pos };
      case 'op':
        if (t.text === '(') {
          const inner = this.expr(0);
          this.expectOp(')', `to close the "(" at column ${t.pos + 1}`);
          return inner;
        }
        if (t.text === '-') return { k: 'neg', arg: this.expr(BP_NEG), pos: t.pos };
        if (t.text === '+') return this.expr(BP_NEG);
        throw this.error(`expected a value, found ${this.describe(t)}`, t.pos);
      case 'end':
        throw this.error('expected a value, found the end of the expression', t.pos);
      default:
        break;
    }
    const w = t.text.toLowerCase();
    if (w === 'null') return { k: 'null', pos: t.pos };
    if (w === 'true' || w === 'false') return { k: 'bool', value: w === 'true', pos: t.pos };
    if (w === 'not') return { k: 'not', arg: this.expr(BP_NOT), pos: t.pos };
    if (KEYWORDS.has(w))
      throw this.error(
        `expected a value, found the keyword "${t.text}" (quote it to use it as a column)`,
        t.pos,
      );
    const after = this.peek();
    if (after.kind === 'op' && after.text === '(') {
      this.next();
      const args: Node[] = [];
      if (this.peek().kind === 'op' && this.peek().text === ')') this.next();
      else
        for (;;) {
          args.push(this.expr(0));
          const sep = this.next();
          if (sep.kind === 'op' && sep.text === ')') break;
          if (!(sep.kind === 'op' && sep.text === ','))
            throw this.error(
              `expected "," or ")" in the call to ${t.text}, found ${this.describe(sep)}`,
              sep.pos,
            );
        }
      return { k: 'call', fn: t.text.toLowerCase(), args, pos: t.pos };
    }
    return { k: 'col', name: t.text, quoted: false, pos: t.pos };
  }
}

/** Parse an expression into its syntax tree. Throws {@link ExprError} with the offending offset. */
export function parseExpression(text: string): Node {
  return new Parser(text, tokenize(text)).parseAll();
}
