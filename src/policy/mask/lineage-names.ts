/**
 * The name PostgreSQL gives an unnamed output column, after FigureColnameInternal in
 * src/backend/parser/parse_target.c: a column's own name, a function's name, the type of a
 * cast, … else `?column?`.
 */
import { asArray, asNode, isObject, stringList, type AstNode } from '../walk.js';

/** The name PostgreSQL reports for an unnamed output column (`?column?` when it has none). */
export function figureName(value: unknown): string {
  return figure(value, 0)[0] ?? '?column?';
}

const SIMPLE_NAMES: Readonly<Record<string, [string, number]>> = {
  GroupingFunc: ['grouping', 2],
  MergeSupportFunc: ['merge_action', 2],
  CaseExpr: ['case', 1],
  A_ArrayExpr: ['array', 1],
  RowExpr: ['row', 1],
  CoalesceExpr: ['coalesce', 2],
  XmlSerialize: ['xmlserialize', 2],
  JsonParseExpr: ['json', 2],
  JsonScalarExpr: ['json_scalar', 2],
  JsonSerializeExpr: ['json_serialize', 2],
  JsonObjectConstructor: ['json_object', 2],
  JsonArrayConstructor: ['json_array', 2],
  JsonArrayQueryConstructor: ['json_array', 2],
  JsonObjectAgg: ['json_objectagg', 2],
  JsonArrayAgg: ['json_arrayagg', 2],
};

const JSON_FUNC_NAMES: Readonly<Record<string, string>> = {
  JSON_EXISTS_OP: 'json_exists',
  JSON_QUERY_OP: 'json_query',
  JSON_VALUE_OP: 'json_value',
};

/** [name, strength]: 2 for a real name, 1 for a fallback a cast's type name overrides. */
function figure(value: unknown, depth: number): [string | undefined, number] {
  const node = asNode(value);
  if (!node || depth > 64) return [undefined, 0];
  const [type, f] = node;
  const simple = SIMPLE_NAMES[type];
  if (simple) return simple;
  switch (type) {
    case 'ColumnRef':
    case 'A_Indirection': {
      const names = stringList(type === 'ColumnRef' ? f.fields : f.indirection);
      const last = names.at(-1);
      if (last !== undefined) return [last, 2];
      return type === 'A_Indirection' ? figure(f.arg, depth + 1) : [undefined, 0];
    }
    case 'FuncCall':
      return [stringList(f.funcname).at(-1), 2];
    case 'A_Expr':
      return f.kind === 'AEXPR_NULLIF' ? ['nullif', 2] : [undefined, 0];
    case 'TypeCast': {
      const inner = figure(f.arg, depth + 1);
      if (inner[1] > 1) return inner;
      const typeName = isObject(f.typeName) ? stringList(f.typeName.names).at(-1) : undefined;
      return typeName === undefined ? inner : [typeName, 1];
    }
    case 'CollateClause':
      return figure(f.arg, depth + 1);
    case 'MinMaxExpr':
      return [f.op === 'IS_LEAST' ? 'least' : 'greatest', 2];
    case 'SQLValueFunction':
      return typeof f.op === 'string'
        ? [
            f.op
              .replace(/^SVFOP_/, '')
              .replace(/_N$/, '')
              .toLowerCase(),
            2,
          ]
        : [undefined, 0];
    case 'XmlExpr':
      return typeof f.op === 'string' && f.op !== 'IS_DOCUMENT'
        ? [f.op.replace(/^IS_/, '').toLowerCase(), 2]
        : [undefined, 0];
    case 'JsonFuncExpr':
      return [typeof f.op === 'string' ? JSON_FUNC_NAMES[f.op] : undefined, 2];
    case 'SubLink':
      switch (f.subLinkType) {
        case 'EXISTS_SUBLINK':
          return ['exists', 2];
        case 'ARRAY_SUBLINK':
          return ['array', 2];
        case 'EXPR_SUBLINK':
          // The subquery's first column name (its resname), `?column?` included.
          return [firstOutputName(asNode(f.subselect)?.[1], depth + 1) ?? '?column?', 2];
        default:
          return [undefined, 0];
      }
    default:
      return [undefined, 0];
  }
}

/** The name of a query's first output column, as far as the raw tree tells (a `*` does not). */
function firstOutputName(select: AstNode | undefined, depth: number): string | undefined {
  let node = select;
  for (let i = 0; node && isObject(node.larg) && i < 64; i++) node = node.larg;
  if (!node || depth > 64) return undefined;
  const first = asNode(asArray(node.targetList)[0]);
  if (first?.[0] !== 'ResTarget') {
    return asArray(node.valuesLists).length > 0 ? 'column1' : undefined;
  }
  if (typeof first[1].name === 'string') return first[1].name;
  const val = asNode(first[1].val);
  if (val?.[0] === 'ColumnRef' && asNode(asArray(val[1].fields).at(-1))?.[0] === 'A_Star') return undefined;
  return figure(first[1].val, depth + 1)[0];
}
