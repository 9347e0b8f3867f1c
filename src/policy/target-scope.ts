import { asArray, asNode, isObject, stringList, walkChildren, walkValue, type AstNode } from './walk.js';

/**
 * Name resolution for the unbounded-write check: which column references in a WHERE (or a
 * MERGE join condition) read the row of the statement's target, through any depth of subquery.
 * When unsure, a reference is NOT the target's: that makes a condition look row-independent,
 * so the write is treated as unbounded (held for approval) rather than waved through.
 */

/** Which column references mean "the target row". */
export interface Scope {
  /** Qualifiers that name the target (its alias, or its name and schema.name). */
  names: ReadonlySet<string>;
  /**
   * Whether an unqualified column is the target's: always (no other FROM item), never (unknown
   * other items might own it), or unless it is one of the other items' known columns.
   */
  unqualified: boolean | ReadonlySet<string>;
}

/** The qualifiers a statement's target relation can be referred to by. */
export function targetNames(relation: unknown): Set<string> {
  const names = new Set<string>();
  if (!isObject(relation)) return names;
  const alias = isObject(relation.alias) ? relation.alias.aliasname : undefined;
  if (typeof alias === 'string') {
    names.add(alias);
    return names;
  }
  const parts = [relation.catalogname, relation.schemaname, relation.relname].filter(
    (p): p is string => typeof p === 'string' && p !== '',
  );
  for (let i = 0; i < parts.length; i++) names.add(parts.slice(i).join('.'));
  return names;
}

/** Reference names a FROM list introduces; undefined when one cannot be determined. */
function fromNames(fromClause: unknown): Set<string> | undefined {
  const names = new Set<string>();
  const add = (item: unknown): boolean => {
    const node = asNode(item);
    if (!node) return false;
    const [type, f] = node;
    const alias = isObject(f.alias) && typeof f.alias.aliasname === 'string' ? f.alias.aliasname : undefined;
    if (alias !== undefined) names.add(alias);
    switch (type) {
      case 'RangeVar':
        if (typeof f.relname === 'string') names.add(f.relname);
        return true;
      case 'JoinExpr':
        return add(f.larg) && add(f.rarg);
      case 'RangeFunction': {
        for (const fn of asArray(f.functions)) {
          const list = asNode(fn);
          const call = list && list[0] === 'List' ? asNode(asArray(list[1].items)[0]) : undefined;
          const name = call && call[0] === 'FuncCall' ? stringList(call[1].funcname).at(-1) : undefined;
          if (name !== undefined) names.add(name);
        }
        return true;
      }
      default:
        return alias !== undefined;
    }
  };
  for (const item of asArray(fromClause)) if (!add(item)) return undefined;
  return names;
}

/**
 * The column names FROM items other than the target provide, when every one of them is a
 * subquery or VALUES list whose output names are visible in the text; undefined otherwise
 * (a table's columns are not known here).
 */
export function knownColumns(items: unknown[]): Set<string> | undefined {
  const columns = new Set<string>();
  const add = (item: unknown): boolean => {
    const node = asNode(item);
    if (!node) return false;
    const [type, f] = node;
    if (type === 'JoinExpr') return add(f.larg) && add(f.rarg);
    if (type !== 'RangeSubselect') return false;
    const aliasColumns = isObject(f.alias) ? stringList(f.alias.colnames) : [];
    const select = asNode(f.subquery);
    if (!select || select[0] !== 'SelectStmt') return false;
    const values = asArray(select[1].valuesLists);
    if (values.length > 0) {
      const width = asArray(asNode(values[0])?.[1].items).length;
      for (let i = 0; i < width; i++) columns.add(aliasColumns[i] ?? `column${i + 1}`);
      return true;
    }
    if (select[1].op !== 'SETOP_NONE') return false;
    const targets = asArray(select[1].targetList);
    for (let i = 0; i < targets.length; i++) {
      const target = asNode(targets[i]);
      if (!target || target[0] !== 'ResTarget') return false;
      const name = aliasColumns[i] ?? outputName(target[1]);
      if (name === undefined) return false;
      columns.add(name);
    }
    return true;
  };
  return items.every(add) ? columns : undefined;
}

/** The output column name PostgreSQL gives a select-list item, when it can be read off the text. */
function outputName(resTarget: AstNode): string | undefined {
  if (typeof resTarget.name === 'string') return resTarget.name;
  return figureName(resTarget.val);
}

/** PostgreSQL's FigureColname for the forms read here; undefined for anything else. */
function figureName(expr: unknown): string | undefined {
  const value = asNode(expr);
  if (!value) return undefined;
  const [type, f] = value;
  switch (type) {
    case 'ColumnRef': {
      const fields = asArray(f.fields);
      const names = stringList(fields);
      return names.length === fields.length ? names.at(-1) : undefined;
    }
    case 'FuncCall':
      return stringList(f.funcname).at(-1);
    case 'A_Const':
      return '?column?';
    case 'TypeCast': {
      const inner = asNode(f.arg)?.[0] === 'A_Const' ? undefined : figureName(f.arg);
      return inner ?? (isObject(f.typeName) ? stringList(f.typeName.names).at(-1) : undefined);
    }
    default:
      return undefined;
  }
}

function lastPart(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

/** The scope inside a subquery: its own FROM items shadow the target, and own unqualified names. */
export function subScope(scope: Scope, select: AstNode): Scope {
  const from = asArray(select.fromClause);
  if (from.length === 0) return scope;
  const introduced = fromNames(from);
  const shadowed =
    introduced === undefined || [...scope.names].some((name) => introduced.has(lastPart(name)));
  return { names: shadowed ? new Set() : scope.names, unqualified: false };
}

/** Does a column reference name the target row? */
export function refersToTarget(columnRef: AstNode, scope: Scope): boolean {
  const fields = asArray(columnRef.fields);
  const names = stringList(fields);
  const star = fields.length > names.length;
  if (fields.length <= 1) {
    if (typeof scope.unqualified === 'boolean') return scope.unqualified;
    return !scope.unqualified.has(names[0] ?? '*');
  }
  const qualifiers = star ? names.length : names.length - 1;
  // `a.b.c` can be schema.table.column or table.column.field: check every prefix.
  for (let i = 1; i <= qualifiers; i++) if (scope.names.has(names.slice(0, i).join('.'))) return true;
  return false;
}

/** True when anything under `value` reads the target row (through any depth of subqueries). */
export function dependsOnTarget(value: unknown, scope: Scope, parentType?: string, field?: string): boolean {
  let found = false;
  const visitor =
    (current: Scope) =>
    (type: string, node: AstNode): void => {
      if (found) return;
      if (type === 'ColumnRef') {
        if (refersToTarget(node, current)) found = true;
        return;
      }
      walkChildren(type, node, visitor(type === 'SelectStmt' ? subScope(current, node) : current));
    };
  walkValue(value, parentType, field, visitor(scope));
  return found;
}
