/**
 * The sources of one expression: every column, whole row and subquery output it is computed
 * from, at any depth (operators, function calls, CASE with its conditions, casts, …), except
 * what cannot carry a value into the result: constants, parameters, `count(…)`, EXISTS, and the
 * PARTITION BY / ORDER BY of a window.
 */
import { asArray, asNode, isObject, stringList, type AstNode } from '../walk.js';
import {
  MAX_DEPTH,
  SourceList,
  entryColumn,
  findEntry,
  itemSources,
  opaque,
  resolveName,
  rowSources,
  type Ctx,
  type Item,
  type Level,
} from './lineage-scope.js';
import type { RelRef, Source } from './types.js';

/** What the expression analysis needs from the query analysis: the outputs of a subquery. */
export interface SubqueryHost {
  subquery(select: unknown, ctx: Ctx): Item[];
  /** The sources of every output of the SQL in `text` (run by query_to_xml and the like). */
  embeddedSql(text: string, ctx: Ctx): Source[];
  /** A call that carries its arguments out of the statement (`pg_notify`, `set_config`, …): a write. */
  sideWrite(fn: string, sources: Source[]): void;
}

/**
 * Functions that carry a value past the result, to be read back later or elsewhere: a
 * notification payload, a session setting, a large object, a sequence, a WAL message. Passing
 * them a masked value counts as writing it somewhere unmasked.
 */
const SIDE_CHANNEL_FUNCTIONS: ReadonlySet<string> = new Set([
  'pg_notify',
  'set_config',
  'lo_from_bytea',
  'lo_put',
  'lowrite',
  'setval',
  'pg_logical_emit_message',
]);

/** Functions that run the SQL text of their first argument and return (a digest of) its rows. */
const SQL_TEXT_FUNCTIONS: ReadonlySet<string> = new Set([
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'ts_stat',
]);

/** Functions that return the rows of the table their first argument names. */
const TABLE_FUNCTIONS: ReadonlySet<string> = new Set([
  'table_to_xml',
  'table_to_xmlschema',
  'table_to_xml_and_xmlschema',
]);

/** Functions whose results come from data this analysis cannot see (cursors, whole schemas, other servers, large objects). */
const OPAQUE_FUNCTIONS: ReadonlySet<string> = new Set([
  'cursor_to_xml',
  'cursor_to_xmlschema',
  'schema_to_xml',
  'schema_to_xmlschema',
  'schema_to_xml_and_xmlschema',
  'database_to_xml',
  'database_to_xmlschema',
  'database_to_xml_and_xmlschema',
  'dblink',
  'dblink_get_result',
  'dblink_fetch',
  'lo_get',
  'loread',
]);

/** Node types that carry no value from the database into the result. */
const NO_SOURCES: ReadonlySet<string> = new Set([
  'A_Const',
  'ParamRef',
  'SQLValueFunction',
  'SetToDefault',
  'MergeSupportFunc',
  'TypeName',
  'String',
  'Integer',
  'Float',
  'Boolean',
  'BitString',
]);

/** Every source `value` (an expression, or a list of them) is computed from, in `ctx`. */
export function exprSources(value: unknown, ctx: Ctx, host: SubqueryHost): Source[] {
  const out = new SourceList();
  collect(value, ctx, host, out, ctx.depth);
  return out.items;
}

/** The sources of a ColumnRef's fields: `col`, `t.col`, `s.t.col`, `c.s.t.col`, `t.*`, `*`. */
function columnRefSources(fields: unknown, level: Level | undefined, field?: string): Source[] {
  const parts = asArray(fields).map((f) => {
    const node = asNode(f);
    if (node?.[0] === 'String') return typeof node[1].sval === 'string' ? node[1].sval : '';
    return node?.[0] === 'A_Star' ? '*' : '';
  });
  const star = parts.at(-1) === '*';
  const names = star ? parts.slice(0, -1) : parts;
  if (star) {
    if (names.length === 0) return allRows(level);
    const entry = lookup(level, names);
    if (entry) return rowSources(entry);
    return names.length === 1 ? resolveName(level, names[0] ?? '', false) : [opaque('unknown relation')];
  }
  switch (names.length) {
    case 1:
      return resolveName(level, names[0] ?? '', true, field);
    case 2: {
      const [table = '', column = ''] = names;
      const entry = findEntry(level, table);
      // `a.b` with no relation `a` in scope: column `a`, field `b` (a composite value).
      return entry ? entryColumn(entry, column, table) : resolveName(level, table, false);
    }
    default: {
      const entry = lookup(level, names.slice(0, -1));
      if (entry) return entryColumn(entry, names.at(-1) ?? '', entry.refname);
      // `t.col.field`: relation t, composite column col.
      const [table = '', column = ''] = names;
      const first = findEntry(level, table);
      return first ? entryColumn(first, column, table) : [opaque(`unknown relation in ${names.join('.')}`)];
    }
  }
}

/** The FROM item named by `[catalog.][schema.]name`. */
function lookup(level: Level | undefined, names: string[]) {
  const name = names.at(-1);
  if (name === undefined) return undefined;
  return findEntry(level, name, names.length >= 2 ? names.at(-2) : undefined);
}

/** `*` inside an expression: every FROM item of the nearest level that has any. */
function allRows(level: Level | undefined): Source[] {
  for (let scope = level; scope; scope = scope.parent) {
    if (scope.entries.length === 0) continue;
    const out = new SourceList();
    for (const entry of scope.entries) out.addAll(rowSources(entry));
    return out.items;
  }
  return [opaque('* with no FROM')];
}

function collect(value: unknown, ctx: Ctx, host: SubqueryHost, out: SourceList, depth: number): void {
  if (Array.isArray(value)) {
    for (const item of value) collect(item, ctx, host, out, depth);
    return;
  }
  if (!isObject(value)) return;
  if (depth > MAX_DEPTH) {
    out.add(opaque('expression nested too deeply'));
    return;
  }
  const node = asNode(value);
  if (!node) {
    // An unwrapped node (JsonValueExpr, WindowDef, …): its fields may hold expressions.
    for (const key in value) collect(value[key], ctx, host, out, depth + 1);
    return;
  }
  const [type, f] = node;
  if (NO_SOURCES.has(type)) return;
  switch (type) {
    case 'ColumnRef':
      out.addAll(columnRefSources(f.fields, ctx.level));
      return;
    case 'A_Indirection':
      indirection(f, ctx, host, out, depth);
      return;
    case 'FuncCall':
      funcCall(f, ctx, host, out, depth);
      return;
    case 'SubLink':
      subLink(f, ctx, host, out, depth);
      return;
    case 'SelectStmt':
      out.addAll(itemSources(host.subquery(value, { ...ctx, depth: depth + 1 })));
      return;
    default:
      for (const key in f) collect(f[key], ctx, host, out, depth + 1);
  }
}

/** `(c).email`, `arr[i]`: field selection from a whole row is that column of the relation. */
function indirection(f: AstNode, ctx: Ctx, host: SubqueryHost, out: SourceList, depth: number): void {
  const arg = asNode(f.arg);
  const steps = asArray(f.indirection);
  const first = asNode(steps[0]);
  if (arg?.[0] === 'ColumnRef' && first?.[0] === 'String' && typeof first[1].sval === 'string') {
    const fields = asArray(arg[1].fields);
    if (fields.length === 1 && asNode(fields[0])?.[0] === 'String') {
      out.addAll(columnRefSources(arg[1].fields, ctx.level, first[1].sval));
      collect(steps.slice(1), ctx, host, out, depth + 1);
      return;
    }
  }
  collect(f.arg, ctx, host, out, depth + 1);
  collect(steps, ctx, host, out, depth + 1);
}

/** Function calls and aggregates: `count(…)` has no sources; others their arguments, ORDER BY and FILTER. */
function funcCall(f: AstNode, ctx: Ctx, host: SubqueryHost, out: SourceList, depth: number): void {
  const names = stringList(f.funcname);
  const name = names.at(-1) ?? '';
  const isCount = name === 'count' && (names.length === 1 || names[0] === 'pg_catalog');
  if (f.agg_star === true || isCount) return;
  if (SQL_TEXT_FUNCTIONS.has(name) || TABLE_FUNCTIONS.has(name) || OPAQUE_FUNCTIONS.has(name)) {
    out.addAll(dataFunction(name, asArray(f.args)[0], ctx, host));
  }
  if (SIDE_CHANNEL_FUNCTIONS.has(name)) {
    const carried = new SourceList();
    collect(f.args, ctx, host, carried, depth + 1);
    if (carried.items.length > 0) host.sideWrite(name, carried.items);
  }
  collect(f.args, ctx, host, out, depth + 1);
  collect(f.agg_order, ctx, host, out, depth + 1);
  collect(f.agg_filter, ctx, host, out, depth + 1);
}

/** Subqueries in expressions: their outputs (and the tested expression); EXISTS has none. */
function subLink(f: AstNode, ctx: Ctx, host: SubqueryHost, out: SourceList, depth: number): void {
  if (f.subLinkType === 'EXISTS_SUBLINK') return;
  collect(f.testexpr, ctx, host, out, depth + 1);
  out.addAll(itemSources(host.subquery(f.subselect, { ...ctx, depth: depth + 1 })));
}

/** The sources of a function that reads data named by its first argument (SQL text, a table name). */
function dataFunction(name: string, first: unknown, ctx: Ctx, host: SubqueryHost): Source[] {
  const text = constantText(first);
  if (text !== undefined && SQL_TEXT_FUNCTIONS.has(name)) return host.embeddedSql(text, ctx);
  if (text !== undefined && TABLE_FUNCTIONS.has(name)) {
    const rel = qualifiedName(text);
    if (rel) return [{ kind: 'row', rel }];
  }
  return [opaque(`${name}(…)`)];
}

/** A string constant, possibly cast (`'t'::regclass`); undefined for anything else. */
function constantText(value: unknown): string | undefined {
  const node = asNode(value);
  if (node?.[0] === 'TypeCast') return constantText(node[1].arg);
  if (node?.[0] !== 'A_Const' || !isObject(node[1].sval)) return undefined;
  return typeof node[1].sval.sval === 'string' ? node[1].sval.sval : '';
}

/** `name`, `schema.name`, `"Quoted".name` as regclass input reads it (unquoted parts fold to lowercase). */
function qualifiedName(text: string): RelRef | undefined {
  const parts: string[] = [];
  const pattern = /\s*(?:"((?:[^"]|"")*)"|([^".\s]+))\s*(\.|$)/y;
  let match: RegExpExecArray | null;
  while (pattern.lastIndex < text.length && (match = pattern.exec(text)) !== null) {
    parts.push(match[1] !== undefined ? match[1].replace(/""/g, '"') : (match[2] ?? '').toLowerCase());
    if (match[3] === '') break;
  }
  if (pattern.lastIndex !== text.length || parts.length === 0 || parts.length > 3) return undefined;
  const name = parts.at(-1) ?? '';
  return parts.length === 1 ? { name } : { schema: parts.at(-2) ?? '', name };
}
