import { describe, expect, it } from 'vitest';
import { ExprError, type Node, parseExpression, tokenize } from './parse.ts';

/** S-expression form of a tree, for compact assertions. */
function show(n: Node): string {
  switch (n.k) {
    case 'num':
      return String(n.value);
    case 'str':
      return `'${n.value}'`;
    case 'bool':
      return String(n.value);
    case 'null':
      return 'null';
    case 'col':
      return n.name;
    case 'neg':
      return `(neg ${show(n.arg)})`;
    case 'not':
      return `(not ${show(n.arg)})`;
    case 'bin':
      return `(${n.op} ${show(n.left)} ${show(n.right)})`;
    case 'in':
      return `(${n.negated ? 'not-in' : 'in'} ${show(n.arg)} [${n.list.map(show).join(' ')}])`;
    case 'isnull':
      return `(${n.negated ? 'is-not-null' : 'is-null'} ${show(n.arg)})`;
    case 'call':
      return `(${n.fn} ${n.args.map(show).join(' ')})`;
  }
}

const p = (text: string) => show(parseExpression(text));

function errorOf(text: string): ExprError {
  try {
    parseExpression(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ExprError);
    return e as ExprError;
  }
  throw new Error(`"${text}" parsed`);
}

describe('expression parser', () => {
  it.each([
    ['a + b * c', '(+ a (* b c))'],
    ['(a + b) * c', '(* (+ a b) c)'],
    ['a - b - c', '(- (- a b) c)'],
    ['a / b % c', '(% (/ a b) c)'],
    ['-a * b', '(* (neg a) b)'],
    ['- - a', '(neg (neg a))'],
    ['a < b + 1', '(< a (+ b 1))'],
    ['a = 1 or b <> 2', '(or (== a 1) (!= b 2))'],
    ['a or b and c', '(or a (and b c))'],
    ['not a == b and c', '(and (not (== a b)) c)'],
    ['NOT a OR b', '(or (not a) b)'],
    ["x in [1, -2, 3.5e2] and y not in ['a', null]", "(and (in x [1 (neg 2) 350]) (not-in y ['a' null]))"],
    ['x is null or y IS NOT NULL', '(or (is-null x) (is-not-null y))'],
    ['abs(diff(price, 2)) >= .5', '(>= (abs (diff price 2)) 0.5)'],
    ['max(a, b)', '(max a b)'],
    ['if(a > 1, b, null)', '(if (> a 1) b null)'],
    ["COALESCE(a, If(c, 'x', -2), null)", "(coalesce a (if c 'x' (neg 2)) null)"],
    ['"my col" + `other col`', '(+ my col other col)'],
    ["'it''s' == s", "(== 'it's' s)"],
    ['true and FALSE or null', '(or (and true false) null)'],
  ])('%s', (text, expected) => {
    expect(p(text)).toBe(expected);
  });

  it.each([
    ['price >', 7, /expected a value, found the end/],
    ['a + (b * 2', 10, /expected "\)" to close the "\(" at column 5/],
    ["symbol == 'BTC", 10, /unterminated string/],
    ['a # b', 2, /unexpected character "#"/],
    ['1abc', 1, /unexpected "a" after the number/],
    ['a b', 2, /unexpected "b"; expected an operator/],
    ['x in [a]', 6, /literals only/],
    ['x in (1, 2)', 5, /expected "\[" to start the list/],
    ['x is 3', 5, /expected "null" after "is"/],
    ['f(1, 2', 6, /expected "," or "\)" in the call to f/],
    ['if(a, b', 7, /expected "," or "\)" in the call to if, found the end/],
    ['coalesce(a b)', 11, /expected "," or "\)" in the call to coalesce, found "b"/],
    ['and', 0, /keyword "and"/],
    ['a in [1 2]', 8, /expected "," or "\]" in the list opened at column 6/],
  ])('error in %s at offset %i', (text, pos, re) => {
    const e = errorOf(text);
    expect(e.position).toBe(pos);
    expect(e.code).toBe('POLAROID_EXPR_SYNTAX');
    expect(e.detail).toMatch(re);
    expect(e.message).toContain(`at column ${pos + 1}`);
    expect(e.message.split('\n')[2]).toBe(`  ${' '.repeat(pos)}^`);
  });

  it('tokens carry their offsets', () => {
    expect(tokenize('a >= 10').map((t) => [t.kind, t.pos])).toEqual([
      ['ident', 0],
      ['op', 2],
      ['num', 5],
      ['end', 7],
    ]);
  });
});
