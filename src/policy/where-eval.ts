import {
  dependsOnTarget,
  knownColumns,
  refersToTarget,
  subScope,
  targetNames,
  type Scope,
} from './target-scope.js';
import { asArray, asNode, isObject, stringList, walkChildren, walkValue, type AstNode } from './walk.js';

/**
 * The abstract value of a predicate over the rows of a write's target table:
 * `true`/`false`/`null` for every row alike, `any` when it does not depend on the row but its
 * value is unknown (`$1`, `random() < 2`), `row` when it depends on the row's data.
 */
export type Truth = 'true' | 'false' | 'null' | 'any' | 'row';

/** Shared across one classification: set when a literal's value decided something. */
export interface EvalState {
  /** True once a literal's value was inspected, so a cached decision for the same shape could be wrong. */
  literalUsed: boolean;
}

type Decimal = { m: bigint; e: number };
type Const =
  | { t: 'num'; d: Decimal; int: boolean }
  | { t: 'text'; s: string }
  /** An untyped string literal (`'t'`), resolved by context as PostgreSQL does. */
  | { t: 'unknown'; s: string }
  | { t: 'bool'; b: boolean }
  | { t: 'null' };
type Value = { k: 'const'; c: Const; literal: boolean } | { k: 'any' } | { k: 'row' };

const ANY: Value = { k: 'any' };
const ROW: Value = { k: 'row' };
const NULL: Value = { k: 'const', c: { t: 'null' }, literal: false };
const TRUE: Value = { k: 'const', c: { t: 'bool', b: true }, literal: false };
const FALSE: Value = { k: 'const', c: { t: 'bool', b: false }, literal: false };
/** OR lists longer than this are not searched pairwise for `e OR NOT e` (quadratic). */
const MAX_COMPLEMENT_ARGS = 32;
/** Exponents beyond this are not evaluated (they would make BigInt arithmetic explode). */
const MAX_EXPONENT = 1000;
const INT_TYPES = new Set(['int2', 'int4', 'int8', 'integer', 'int', 'smallint', 'bigint']);
const NUMERIC_TYPES = new Set(['numeric', 'decimal']);
const TEXT_TYPES = new Set(['text', 'varchar']);
const BOOL_TYPES = new Set(['bool', 'boolean']);
const EQUAL_OPS = new Set(['=', '>=', '<=']);
const UNEQUAL_OPS = new Set(['<>', '!=', '<', '>']);
const COMPARISONS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=']);

/** How a write's rows are limited: `unbounded` plus a phrase for messages when it is. */
export interface WriteBounds {
  unbounded: boolean;
  reason?: string;
}

/**
 * Decides whether an UPDATE, DELETE or MERGE can touch every row of its target: no WHERE, or a
 * WHERE (MERGE: join condition) that evaluates to TRUE or ANY. Catches constant-true forms,
 * parameters, self-comparisons and uncorrelated EXISTS; a predicate over the row's data that
 * happens to be always true (`id > 0`) is, by nature, not something a parser can know.
 */
export function writeBounds(type: string, node: AstNode, state: EvalState): WriteBounds {
  const target = targetNames(node.relation);
  if (type === 'MergeStmt') {
    const source = knownColumns([node.sourceRelation]);
    const ev = new Evaluator({ names: target, unqualified: source ?? false }, state);
    const join = ev.truth(node.joinCondition);
    for (const item of asArray(node.mergeWhenClauses)) {
      const clause = asNode(item);
      if (!clause || clause[0] !== 'MergeWhenClause') continue;
      const { matchKind, commandType, condition } = clause[1];
      if (commandType !== 'CMD_UPDATE' && commandType !== 'CMD_DELETE') continue;
      const when = condition === undefined ? 'true' : ev.truth(condition);
      if (matchKind === 'MERGE_WHEN_MATCHED' && isUnbounded(and([join, when]))) {
        return { unbounded: true, reason: 'with a join condition that matches every row' };
      }
      if (matchKind === 'MERGE_WHEN_NOT_MATCHED_BY_SOURCE' && isUnbounded(when)) {
        return { unbounded: true, reason: 'that changes every target row the source does not match' };
      }
    }
    return { unbounded: false };
  }
  const others = type === 'DeleteStmt' ? node.usingClause : node.fromClause;
  const where = node.whereClause;
  if (where === undefined) return { unbounded: true, reason: 'without a WHERE clause' };
  const unqualified = asArray(others).length === 0 ? true : (knownColumns(asArray(others)) ?? false);
  const ev = new Evaluator({ names: target, unqualified }, state);
  return isUnbounded(ev.truth(where))
    ? { unbounded: true, reason: 'with a WHERE clause that does not limit the rows' }
    : { unbounded: false };
}

function isUnbounded(truth: Truth): boolean {
  return truth === 'true' || truth === 'any';
}

function and(truths: Truth[]): Truth {
  if (truths.includes('false')) return 'false';
  if (truths.includes('row')) return 'row';
  if (truths.includes('any')) return 'any';
  if (truths.includes('null')) return 'null';
  return 'true';
}

function or(truths: Truth[]): Truth {
  if (truths.includes('true')) return 'true';
  if (truths.includes('any')) return 'any';
  if (truths.includes('row')) return 'row';
  if (truths.includes('null')) return 'null';
  return 'false';
}

function not(truth: Truth): Truth {
  return truth === 'true' ? 'false' : truth === 'false' ? 'true' : truth;
}

function fromTruth(truth: Truth): Value {
  switch (truth) {
    case 'true':
      return TRUE;
    case 'false':
      return FALSE;
    case 'null':
      return NULL;
    case 'any':
      return ANY;
    case 'row':
      return ROW;
  }
}

function bool(b: boolean): Value {
  return b ? TRUE : FALSE;
}

/** PostgreSQL's boolean input (`parse_bool_with_len`): t, true, yes, on, 1, and prefixes. */
export function parseBool(text: string): boolean | undefined {
  const s = text.trim().toLowerCase();
  if (s === '') return undefined;
  const prefixOf = (word: string, min = 1): boolean => s.length >= min && word.startsWith(s);
  if (prefixOf('true') || prefixOf('yes') || s === 'on' || s === '1') return true;
  if (prefixOf('false') || prefixOf('no') || prefixOf('off', 2) || s === '0') return false;
  return undefined;
}

/** An exact decimal from `[+-]digits[.digits][e[+-]digits]`, or undefined. */
function parseDecimal(text: string, integerOnly = false): Decimal | undefined {
  const match = integerOnly
    ? /^\s*([+-]?)(\d+)()\s*$/.exec(text)
    : /^\s*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/.exec(text);
  if (!match) return undefined;
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = match;
  if (whole === '' && fraction === '') return undefined;
  const e = Number(exponent) - fraction.length;
  if (!Number.isSafeInteger(e) || Math.abs(e) > MAX_EXPONENT) return undefined;
  const m = BigInt(`${sign}${whole}${fraction}` || '0');
  return { m, e };
}

function compareDecimal(a: Decimal, b: Decimal): number {
  const e = Math.min(a.e, b.e);
  const x = a.m * 10n ** BigInt(a.e - e);
  const y = b.m * 10n ** BigInt(b.e - e);
  return x < y ? -1 : x > y ? 1 : 0;
}

function constOf(node: AstNode): Value {
  if (node.isnull === true) return NULL;
  if (isObject(node.boolval)) return bool(node.boolval.boolval === true);
  if (isObject(node.ival)) {
    const n = typeof node.ival.ival === 'number' ? node.ival.ival : 0;
    return { k: 'const', c: { t: 'num', d: { m: BigInt(n), e: 0 }, int: true }, literal: true };
  }
  if (isObject(node.fval)) {
    const d = parseDecimal(String(node.fval.fval ?? ''));
    return d ? { k: 'const', c: { t: 'num', d, int: false }, literal: true } : ANY;
  }
  if (isObject(node.sval)) {
    const s = typeof node.sval.sval === 'string' ? node.sval.sval : '';
    return { k: 'const', c: { t: 'unknown', s }, literal: true };
  }
  return ANY;
}

/** Keys that carry source positions rather than meaning. */
function isPositionKey(key: string): boolean {
  return key === 'location' || key.endsWith('_location') || key.endsWith('_start') || key.endsWith('_end');
}

const LITERAL_KEYS = ['ival', 'fval', 'sval', 'bsval'];

/**
 * Structural equality of two expressions ignoring positions. `acc.literal` is set when the
 * comparison went through literals, `acc.differs` when only literal values differ.
 */
function sameTree(a: unknown, b: unknown, acc: { literal: boolean; differs: boolean }): boolean {
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => sameTree(item, b[i], acc));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const aConst = isObject(a.A_Const) ? a.A_Const : undefined;
    const bConst = isObject(b.A_Const) ? b.A_Const : undefined;
    if (aConst && bConst && LITERAL_KEYS.some((k) => k in aConst) && LITERAL_KEYS.some((k) => k in bConst)) {
      acc.literal = true;
      const strip = (c: AstNode): string =>
        JSON.stringify(Object.entries(c).filter(([key]) => !isPositionKey(key)));
      if (strip(aConst) !== strip(bConst)) acc.differs = true;
      return true;
    }
    const aKeys = Object.keys(a).filter((k) => !isPositionKey(k));
    const bKeys = Object.keys(b).filter((k) => !isPositionKey(k));
    if (aKeys.length !== bKeys.length) return false;
    return aKeys.every((key) => key in b && sameTree(a[key], b[key], acc));
  }
  return a === b;
}

/** The abstract evaluator for one scope. */
class Evaluator {
  constructor(
    private readonly scope: Scope,
    private readonly state: EvalState,
  ) {}

  truth(node: unknown): Truth {
    return this.truthOf(this.value(node));
  }

  /** `a` and `b` are the same expression; literal-dependent answers mark the state. */
  private same(a: unknown, b: unknown): boolean {
    const acc = { literal: false, differs: false };
    const shapeEqual = sameTree(a, b, acc);
    if (shapeEqual && acc.literal) this.state.literalUsed = true;
    return shapeEqual && !acc.differs;
  }

  private inspect(v: Value): void {
    if (v.k === 'const' && v.literal) this.state.literalUsed = true;
  }

  private truthOf(v: Value): Truth {
    if (v.k !== 'const') return v.k;
    switch (v.c.t) {
      case 'bool':
        return v.c.b ? 'true' : 'false';
      case 'null':
        return 'null';
      case 'unknown': {
        this.inspect(v);
        const b = parseBool(v.c.s);
        return b === undefined ? 'any' : b ? 'true' : 'false';
      }
      default:
        return 'any';
    }
  }

  value(node: unknown): Value {
    const n = asNode(node);
    if (!n) return ANY;
    const [type, f] = n;
    switch (type) {
      case 'A_Const':
        return constOf(f);
      case 'ParamRef':
      case 'SQLValueFunction':
      case 'SetToDefault':
        return ANY;
      case 'CurrentOfExpr':
        return ROW;
      case 'ColumnRef':
        return refersToTarget(f, this.scope) ? ROW : ANY;
      case 'CollateClause':
        return this.value(f.arg);
      case 'TypeCast':
        return this.cast(f);
      case 'A_Expr':
        return this.aExpr(f);
      case 'BoolExpr':
        return fromTruth(this.boolExpr(f));
      case 'BooleanTest':
        return fromTruth(this.booleanTest(f));
      case 'NullTest': {
        const v = this.value(f.arg);
        if (v.k !== 'const') return v;
        const isNull = v.c.t === 'null';
        return bool(f.nulltesttype === 'IS_NOT_NULL' ? !isNull : isNull);
      }
      case 'CoalesceExpr':
        return this.coalesce(f);
      case 'CaseExpr':
        return this.caseExpr(f);
      case 'SubLink':
        return this.subLink(f);
      default:
        return dependsOnTarget(node, this.scope) ? ROW : ANY;
    }
  }

  private cast(f: AstNode): Value {
    const v = this.value(f.arg);
    if (v.k !== 'const' || v.c.t === 'null') return v;
    const typeName = isObject(f.typeName) ? f.typeName : {};
    if (asArray(typeName.arrayBounds).length > 0 || asArray(typeName.typmods).length > 0) return ANY;
    const target = stringList(typeName.names).at(-1)?.toLowerCase() ?? '';
    this.inspect(v);
    const c = v.c;
    const literal = false;
    if (BOOL_TYPES.has(target)) {
      if (c.t === 'bool') return v;
      if (c.t === 'unknown' || c.t === 'text') {
        const b = parseBool(c.s);
        return b === undefined ? ANY : bool(b);
      }
      if (c.t === 'num' && c.int) return bool(c.d.m !== 0n);
      return ANY;
    }
    if (INT_TYPES.has(target) || NUMERIC_TYPES.has(target)) {
      const integer = INT_TYPES.has(target);
      if (c.t === 'num') return !integer || c.int ? { k: 'const', c: { ...c, int: integer }, literal } : ANY;
      if (c.t === 'unknown' || c.t === 'text') {
        const d = parseDecimal(c.s, integer);
        return d ? { k: 'const', c: { t: 'num', d, int: integer }, literal } : ANY;
      }
      if (c.t === 'bool' && integer)
        return { k: 'const', c: { t: 'num', d: { m: c.b ? 1n : 0n, e: 0 }, int: true }, literal };
      return ANY;
    }
    if (TEXT_TYPES.has(target)) {
      if (c.t === 'unknown' || c.t === 'text') return { k: 'const', c: { t: 'text', s: c.s }, literal };
      if (c.t === 'num' && c.int && c.d.e === 0)
        return { k: 'const', c: { t: 'text', s: c.d.m.toString() }, literal };
      if (c.t === 'bool') return { k: 'const', c: { t: 'text', s: c.b ? 'true' : 'false' }, literal };
      return ANY;
    }
    return ANY;
  }

  /** Compares two constants as PostgreSQL would resolve their types; ANY when unsure. */
  private compareConst(op: string, a: Value & { k: 'const' }, b: Value & { k: 'const' }): Value {
    this.inspect(a);
    this.inspect(b);
    const x = a.c;
    const y = b.c;
    if (x.t === 'null' || y.t === 'null') return NULL;
    let order: number | undefined;
    const ordered = op !== '=' && op !== '<>' && op !== '!=';
    if (x.t === 'num' || y.t === 'num') {
      const toDecimal = (c: Const, other: Const): Decimal | undefined => {
        if (c.t === 'num') return c.d;
        if (c.t === 'unknown') return parseDecimal(c.s, other.t === 'num' && other.int);
        return undefined;
      };
      const dx = toDecimal(x, y);
      const dy = toDecimal(y, x);
      if (dx && dy) order = compareDecimal(dx, dy);
    } else if (x.t === 'bool' || y.t === 'bool') {
      const toBool = (c: Const): boolean | undefined =>
        c.t === 'bool' ? c.b : c.t === 'unknown' ? parseBool(c.s) : undefined;
      const bx = toBool(x);
      const by = toBool(y);
      if (bx !== undefined && by !== undefined) order = Number(bx) - Number(by);
    } else if (!ordered) {
      // text/unknown equality is bytewise under the (deterministic) default collation.
      order = x.s === y.s ? 0 : 1;
    }
    if (order === undefined) return ANY;
    switch (op) {
      case '=':
        return bool(order === 0);
      case '<>':
      case '!=':
        return bool(order !== 0);
      case '<':
        return bool(order < 0);
      case '>':
        return bool(order > 0);
      case '<=':
        return bool(order <= 0);
      case '>=':
        return bool(order >= 0);
      default:
        return ANY;
    }
  }

  /** `l op r` for a comparison operator, with the self-comparison rule for row values. */
  private compare(op: string, l: unknown, r: unknown, lv = this.value(l), rv = this.value(r)): Value {
    if (lv.k === 'row' || rv.k === 'row') {
      if (EQUAL_OPS.has(op) && this.same(l, r)) return ANY;
      if (UNEQUAL_OPS.has(op) && this.same(l, r)) return FALSE;
      return ROW;
    }
    if (lv.k === 'const' && rv.k === 'const' && COMPARISONS.has(op)) return this.compareConst(op, lv, rv);
    return ANY;
  }

  private aExpr(f: AstNode): Value {
    const op = stringList(f.name).at(-1) ?? '';
    switch (f.kind) {
      case 'AEXPR_OP':
        if (f.lexpr === undefined || !COMPARISONS.has(op)) return this.combine([f.lexpr, f.rexpr]);
        return this.compare(op, f.lexpr, f.rexpr);
      case 'AEXPR_DISTINCT':
      case 'AEXPR_NOT_DISTINCT':
        return this.distinct(f.kind === 'AEXPR_NOT_DISTINCT', f.lexpr, f.rexpr);
      case 'AEXPR_IN': {
        const items = asArray(isObject(f.rexpr) && isObject(f.rexpr.List) ? f.rexpr.List.items : undefined);
        if (items.length === 0) return this.combine([f.lexpr, f.rexpr]);
        const lv = this.value(f.lexpr);
        const parts = items.map((item) => this.truthOf(this.compare(op, f.lexpr, item, lv)));
        return fromTruth(op === '<>' ? and(parts) : or(parts));
      }
      case 'AEXPR_BETWEEN':
      case 'AEXPR_NOT_BETWEEN':
      case 'AEXPR_BETWEEN_SYM':
      case 'AEXPR_NOT_BETWEEN_SYM': {
        const bounds = asArray(isObject(f.rexpr) && isObject(f.rexpr.List) ? f.rexpr.List.items : undefined);
        if (bounds.length !== 2) return this.combine([f.lexpr, f.rexpr]);
        const [low, high] = bounds;
        const between = (lo: unknown, hi: unknown): Truth =>
          and([this.truthOf(this.compare('>=', f.lexpr, lo)), this.truthOf(this.compare('<=', f.lexpr, hi))]);
        const sym = f.kind === 'AEXPR_BETWEEN_SYM' || f.kind === 'AEXPR_NOT_BETWEEN_SYM';
        const inRange = sym ? or([between(low, high), between(high, low)]) : between(low, high);
        return fromTruth(
          f.kind === 'AEXPR_NOT_BETWEEN' || f.kind === 'AEXPR_NOT_BETWEEN_SYM' ? not(inRange) : inRange,
        );
      }
      default:
        return this.combine([f.lexpr, f.rexpr]);
    }
  }

  private distinct(notDistinct: boolean, l: unknown, r: unknown): Value {
    const lv = this.value(l);
    const rv = this.value(r);
    if (lv.k === 'row' || rv.k === 'row') {
      // x IS NOT DISTINCT FROM x holds for every row, NULLs included.
      if (this.same(l, r)) return notDistinct ? TRUE : FALSE;
      return ROW;
    }
    if (lv.k !== 'const' || rv.k !== 'const') return ANY;
    const lNull = lv.c.t === 'null';
    const rNull = rv.c.t === 'null';
    let equal: Truth;
    if (lNull || rNull) equal = lNull && rNull ? 'true' : 'false';
    else equal = this.truthOf(this.compareConst('=', lv, rv));
    return fromTruth(notDistinct ? equal : not(equal));
  }

  /** A value computed from sub-expressions we do not evaluate: ROW if any reads the row. */
  private combine(parts: unknown[]): Value {
    return parts.some((part) => part !== undefined && this.value(part).k === 'row') ? ROW : ANY;
  }

  private boolExpr(f: AstNode): Truth {
    const args = asArray(f.args);
    const truths = args.map((arg) => this.truth(arg));
    switch (f.boolop) {
      case 'AND_EXPR':
        return and(truths);
      case 'OR_EXPR':
        if (!truths.includes('true') && args.length <= MAX_COMPLEMENT_ARGS && this.hasComplements(args)) {
          return or([...truths, 'any']);
        }
        return or(truths);
      case 'NOT_EXPR':
        return not(truths[0] ?? 'any');
      default:
        return 'any';
    }
  }

  /** `e OR NOT e`, `e IS NULL OR e IS NOT NULL`: true for every (non-null) row. */
  private hasComplements(args: unknown[]): boolean {
    const negated = (node: unknown): unknown => {
      const n = asNode(node);
      if (!n) return undefined;
      if (n[0] === 'BoolExpr' && n[1].boolop === 'NOT_EXPR') return asArray(n[1].args)[0];
      if (n[0] === 'NullTest') {
        const flipped = n[1].nulltesttype === 'IS_NULL' ? 'IS_NOT_NULL' : 'IS_NULL';
        return { NullTest: { ...n[1], nulltesttype: flipped } };
      }
      return undefined;
    };
    for (let i = 0; i < args.length; i++) {
      const neg = negated(args[i]);
      if (neg === undefined) continue;
      for (let j = 0; j < args.length; j++) if (j !== i && this.same(neg, args[j])) return true;
    }
    return false;
  }

  private booleanTest(f: AstNode): Truth {
    const t = this.truth(f.arg);
    if (t === 'any' || t === 'row') return t;
    switch (f.booltesttype) {
      case 'IS_TRUE':
        return t === 'true' ? 'true' : 'false';
      case 'IS_NOT_TRUE':
        return t === 'true' ? 'false' : 'true';
      case 'IS_FALSE':
        return t === 'false' ? 'true' : 'false';
      case 'IS_NOT_FALSE':
        return t === 'false' ? 'false' : 'true';
      case 'IS_UNKNOWN':
        return t === 'null' ? 'true' : 'false';
      case 'IS_NOT_UNKNOWN':
        return t === 'null' ? 'false' : 'true';
      default:
        return 'any';
    }
  }

  private coalesce(f: AstNode): Value {
    for (const arg of asArray(f.args)) {
      const v = this.value(arg);
      if (v.k === 'const' && v.c.t === 'null') continue;
      return v;
    }
    return NULL;
  }

  private caseExpr(f: AstNode): Value {
    const results: Value[] = [];
    let rowCondition = false;
    let decided = false;
    const arg = f.arg;
    const argValue = arg === undefined ? undefined : this.value(arg);
    for (const item of asArray(f.args)) {
      const when = asNode(item);
      if (!when || when[0] !== 'CaseWhen') return this.combine([item]);
      const cond =
        arg === undefined
          ? this.truth(when[1].expr)
          : this.truthOf(this.compare('=', arg, when[1].expr, argValue));
      if (cond === 'false' || cond === 'null') continue;
      if (cond === 'row') rowCondition = true;
      results.push(this.value(when[1].result));
      if (cond === 'true') {
        decided = true;
        break;
      }
    }
    if (!decided) results.push(f.defresult === undefined ? NULL : this.value(f.defresult));
    if (results.some((v) => v.k === 'row')) return ROW;
    const [first] = results;
    if (first && first.k === 'const' && results.every((v) => this.sameConst(first, v))) return first;
    if (rowCondition) {
      const truths = results.map((v) => this.truthOf(v));
      return truths.every((t) => t === 'true' || t === 'any') ? ANY : ROW;
    }
    return ANY;
  }

  private sameConst(a: Value & { k: 'const' }, b: Value): boolean {
    if (b.k !== 'const') return false;
    this.inspect(a);
    this.inspect(b);
    return (
      JSON.stringify(a.c, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ===
      JSON.stringify(b.c, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
    );
  }

  private subLink(f: AstNode): Value {
    const select = asNode(f.subselect);
    if (!select || select[0] !== 'SelectStmt') return dependsOnTarget(f, this.scope, 'SubLink') ? ROW : ANY;
    const sel = select[1];
    switch (f.subLinkType) {
      case 'EXISTS_SUBLINK':
        return fromTruth(this.exists(sel));
      case 'ANY_SUBLINK':
      case 'ALL_SUBLINK':
      case 'ROWCOMPARE_SUBLINK': {
        if (f.testexpr !== undefined && this.value(f.testexpr).k === 'row') return ROW;
        const exists = this.exists(sel);
        if (exists === 'row') return ROW;
        if (exists === 'false') return f.subLinkType === 'ALL_SUBLINK' ? TRUE : FALSE;
        return ANY;
      }
      case 'EXPR_SUBLINK':
      case 'ARRAY_SUBLINK': {
        const simple = this.singleValue(sel);
        if (simple !== undefined) {
          const v = new Evaluator(subScope(this.scope, sel), this.state).value(simple);
          return f.subLinkType === 'EXPR_SUBLINK' || v.k === 'row' ? v : ANY;
        }
        return dependsOnTarget(f.subselect, this.scope) ? ROW : ANY;
      }
      default:
        return dependsOnTarget(f.subselect, this.scope) || dependsOnTarget(f.testexpr, this.scope)
          ? ROW
          : ANY;
    }
  }

  /** The one expression `SELECT expr` computes, for a subquery that is nothing more. */
  private singleValue(sel: AstNode): unknown {
    const targets = asArray(sel.targetList);
    if (targets.length !== 1 || sel.op !== 'SETOP_NONE') return undefined;
    const clauses = [
      'fromClause',
      'whereClause',
      'groupClause',
      'havingClause',
      'valuesLists',
      'limitCount',
      'limitOffset',
    ];
    if (clauses.some((key) => sel[key] !== undefined)) return undefined;
    const target = asNode(targets[0]);
    return target && target[0] === 'ResTarget' ? target[1].val : undefined;
  }

  /** Whether `EXISTS (sel)` holds, per target row. */
  private exists(sel: AstNode): Truth {
    if (sel.op !== undefined && sel.op !== 'SETOP_NONE') {
      const arm = (side: unknown): Truth => (isObject(side) ? this.exists(side) : 'any');
      const l = arm(sel.larg);
      const r = arm(sel.rarg);
      if (sel.op === 'SETOP_UNION') return or([l, r]);
      if (sel.op === 'SETOP_INTERSECT') return and([l, r]);
      return l;
    }
    if (asArray(sel.valuesLists).length > 0) return 'true';
    const inner = new Evaluator(subScope(this.scope, sel), this.state);
    const grouping = asArray(sel.groupClause);
    const emptyGroup = grouping.some((g) => asNode(g)?.[0] === 'GroupingSet');
    const mayAggregate =
      emptyGroup ||
      (grouping.length === 0 && (sel.havingClause !== undefined || containsCall(sel.targetList)));
    if (mayAggregate) {
      // An aggregate without GROUP BY returns one row even from no input; HAVING alone filters it.
      if (sel.havingClause === undefined) return 'any';
      return inner.truth(sel.havingClause) === 'row' ? 'row' : 'any';
    }
    const filters: Truth[] = [];
    if (sel.whereClause !== undefined) filters.push(inner.truth(sel.whereClause));
    for (const item of asArray(sel.fromClause))
      collectInnerJoinQuals(item, (q) => filters.push(inner.truth(q)));
    const filter = filters.length === 0 ? 'true' : and(filters);
    if (asArray(sel.fromClause).length === 0) return filter === 'null' ? 'false' : filter;
    if (filter === 'row') return 'row';
    if (filter === 'false' || filter === 'null') return 'false';
    return 'any';
  }
}

function containsCall(value: unknown): boolean {
  let found = false;
  walkValue(value, undefined, undefined, function visit(type, node) {
    if (found) return;
    if (type === 'FuncCall') found = true;
    else walkChildren(type, node, visit);
  });
  return found;
}

function collectInnerJoinQuals(item: unknown, add: (qual: unknown) => void): void {
  const node = asNode(item);
  if (!node || node[0] !== 'JoinExpr') return;
  const join = node[1];
  if (join.jointype !== 'JOIN_INNER') return;
  if (join.quals !== undefined) add(join.quals);
  collectInnerJoinQuals(join.larg, add);
  collectInnerJoinQuals(join.rarg, add);
}
