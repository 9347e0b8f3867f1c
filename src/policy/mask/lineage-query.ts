/**
 * Lineage of queries and data-modifying statements: SELECT (FROM items, target lists, set
 * operations, VALUES, WITH incl. RECURSIVE and data-modifying CTEs), INSERT/UPDATE/DELETE/MERGE
 * with their RETURNING lists and the values they write. Pure; no I/O.
 */
import { parseSql } from '../parse.js';
import { asArray, asNode, isObject, stringList, type AstNode } from '../walk.js';
import { exprSources, type SubqueryHost } from './lineage-expr.js';
import { figureName } from './lineage-names.js';
import {
  MAX_DEPTH,
  SourceList,
  findCte,
  findEntry,
  itemSources,
  opaque,
  relKey,
  renameShape,
  resolveName,
  unionSources,
  type Ctes,
  type Ctx,
  type Entry,
  type Item,
  type Level,
  type Shape,
} from './lineage-scope.js';
import type { OutputItem, RelRef, ResultLineage, Source, WriteFlow } from './types.js';

/** Functions in FROM known to return one scalar column (no hidden columns to look up). */
const SCALAR_SRFS: ReadonlySet<string> = new Set([
  'unnest',
  'generate_series',
  'generate_subscripts',
  'regexp_split_to_table',
  'regexp_matches',
  'string_to_table',
  'json_array_elements',
  'jsonb_array_elements',
  'json_array_elements_text',
  'jsonb_array_elements_text',
  'json_object_keys',
  'jsonb_object_keys',
]);

/** Functions in FROM known to return these columns. */
const COMPOSITE_SRFS: Readonly<Record<string, readonly string[]>> = {
  json_each: ['key', 'value'],
  jsonb_each: ['key', 'value'],
  json_each_text: ['key', 'value'],
  jsonb_each_text: ['key', 'value'],
  pg_options_to_table: ['option_name', 'option_value'],
};

/** The depth one level of SQL inside a string (query_to_xml) counts for. */
const EMBEDDED_SQL_DEPTH = 50;

/** Rounds of a recursive CTE's fixpoint before its outputs count as opaque. */
const MAX_RECURSION_ROUNDS = 8;

/** The FROM items of a FROM list: those names resolve against, and what `*` expands to. */
interface FromResult {
  visible: Entry[];
  expand: Item[];
}

/** A relation as a RangeVar names it. */
export function relRef(rangeVar: unknown): RelRef | undefined {
  if (!isObject(rangeVar) || typeof rangeVar.relname !== 'string') return undefined;
  return typeof rangeVar.schemaname === 'string'
    ? { schema: rangeVar.schemaname, name: rangeVar.relname }
    : { name: rangeVar.relname };
}

/** The public form of a list of items; `rest` items (columns of unknown number) become one opaque column. */
function toOutputs(items: readonly Item[]): { outputs: OutputItem[]; unknownWidth: boolean } {
  let unknownWidth = false;
  const outputs = items.map((item): OutputItem => {
    if (item.kind !== 'rest') return item;
    unknownWidth = true;
    return {
      kind: 'expr',
      name: '?column?',
      sources: unionSources(item.sources, [opaque('columns of unknown number')]),
    };
  });
  return { outputs, unknownWidth };
}

/** Merges the outputs of two branches of a set operation (or two rounds of a recursive CTE) by position. */
function mergeBranches(left: readonly Item[], right: readonly Item[]): Item[] {
  const plain = (items: readonly Item[]): boolean => items.every((i) => i.kind === 'expr');
  const matches =
    left.length === right.length &&
    left.every((l, i) => {
      const r = right[i];
      if (!r || l.kind !== r.kind) return false;
      return l.kind !== 'star' || (r.kind === 'star' && relKey(l.rel) === relKey(r.rel));
    });
  if (matches || (plain(left) && plain(right))) {
    const merged: Item[] = [];
    for (let i = 0; i < Math.max(left.length, right.length); i++) {
      const l = left[i];
      const r = right[i];
      if (!l) {
        if (r) merged.push(r.kind === 'expr' ? { ...r, name: '?column?' } : r);
      } else if (!r || l.kind === 'star') merged.push(l);
      else if (l.kind === 'expr') merged.push({ ...l, sources: unionSources(l.sources, itemSources([r])) });
      else merged.push({ kind: 'rest', sources: unionSources(l.sources, itemSources([r])) });
    }
    return merged;
  }
  const unmatched = opaque('set operation over * whose columns cannot be matched');
  if (plain(left)) {
    return left.map((l) => (l.kind === 'expr' ? { ...l, sources: unionSources(l.sources, [unmatched]) } : l));
  }
  return [{ kind: 'rest', sources: unionSources(itemSources(left), itemSources(right), [unmatched]) }];
}

/** Analyses queries and DML; collects the writes it meets (INSERT/UPDATE/MERGE, also inside CTEs). */
export class QueryAnalyzer implements SubqueryHost {
  /** Values written to relations by what was analysed, in order. */
  readonly writes: WriteFlow[] = [];
  /** Set when some output could not be expressed as public lineage (columns of unknown number). */
  unknownWidth = false;

  /** The public lineage of a list of items (noting when its width is unknown). */
  result(items: readonly Item[]): ResultLineage {
    const { outputs, unknownWidth } = toOutputs(items);
    if (unknownWidth) this.unknownWidth = true;
    return { outputs };
  }

  /** A function call that carries values out of the statement: recorded as a write to `fn()`. */
  sideWrite(fn: string, sources: Source[]): void {
    this.writes.push({
      target: { name: `${fn}()` },
      creates: false,
      temporary: false,
      columns: ['value'],
      source: { outputs: [{ kind: 'expr', name: 'value', sources }] },
    });
  }

  /** Outputs of a subquery in an expression, seeing `ctx.level` as its outer level. */
  subquery(select: unknown, ctx: Ctx): Item[] {
    return this.query(select, ctx);
  }

  /** The sources of every output of the SQL in `text` (query_to_xml('SELECT …')); opaque when it cannot be read. */
  embeddedSql(text: string, ctx: Ctx): Source[] {
    const reason = opaque('SQL text that cannot be analysed');
    // Each level of SQL-in-a-string costs many levels of depth, so this recursion is bounded too.
    const depth = ctx.depth + EMBEDDED_SQL_DEPTH;
    if (depth > MAX_DEPTH) return [reason];
    const outcome = parseSql(text);
    if (!outcome.ok) return [reason];
    const out = new SourceList();
    for (const raw of outcome.result.stmts ?? []) {
      const node = asNode(raw.stmt);
      if (node?.[0] !== 'SelectStmt') return [reason];
      out.addAll(itemSources(this.query(raw.stmt, { level: undefined, ctes: undefined, depth })));
    }
    return out.items;
  }

  /** Outputs of any statement that can stand as a query (SELECT, or DML with RETURNING). */
  query(value: unknown, ctx: Ctx): Item[] {
    const node = asNode(value);
    if (!node) return [{ kind: 'rest', sources: [opaque('missing query')] }];
    const [type, f] = node;
    if (ctx.depth > MAX_DEPTH) return [{ kind: 'rest', sources: [opaque('query nested too deeply')] }];
    switch (type) {
      case 'SelectStmt':
        return this.select(f, ctx);
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt':
      case 'MergeStmt':
        return this.dml(type, f, ctx) ?? [];
      default:
        return [{ kind: 'rest', sources: [opaque(`${type} as a query`)] }];
    }
  }

  /** Outputs of a SELECT / VALUES / set operation (its INTO clause aside). */
  select(node: AstNode, ctx: Ctx): Item[] {
    const depth = ctx.depth + 1;
    if (depth > MAX_DEPTH) return [{ kind: 'rest', sources: [opaque('query nested too deeply')] }];
    const ctes = isObject(node.withClause) ? this.withClause(node.withClause, ctx) : ctx.ctes;
    const inner: Ctx = { level: ctx.level, ctes, depth };
    if (isSetOp(node)) {
      // `a UNION b UNION c …` nests to the left: walk that spine without recursing.
      const rights: unknown[] = [node.rarg];
      let leftmost: AstNode = node;
      while (isObject(leftmost.larg) && isSetOp(leftmost.larg) && !isObject(leftmost.larg.withClause)) {
        leftmost = leftmost.larg;
        rights.push(leftmost.rarg);
      }
      let items = isObject(leftmost.larg) ? this.select(leftmost.larg, inner) : [];
      for (const right of rights.reverse()) {
        items = mergeBranches(items, isObject(right) ? this.select(right, inner) : []);
      }
      return items;
    }
    if (Array.isArray(node.valuesLists)) return this.values(node.valuesLists, inner);
    const from = this.fromList(asArray(node.fromClause), inner);
    const level: Level = { entries: from.visible, parent: ctx.level };
    return this.targetList(asArray(node.targetList), { level, ctes, depth }, from.expand);
  }

  /** A target list (SELECT or RETURNING): `*`/`t.*` at the top expand to FROM items. */
  private targetList(targets: unknown[], ctx: Ctx, expand: Item[]): Item[] {
    const items: Item[] = [];
    for (const target of targets) {
      const rt = asNode(target);
      if (rt?.[0] !== 'ResTarget') continue;
      const val = rt[1].val;
      const star = starNames(val);
      if (star) {
        items.push(...this.expandStar(star, ctx, expand));
        continue;
      }
      const valNode = asNode(val);
      if (
        valNode?.[0] === 'A_Indirection' &&
        asNode(asArray(valNode[1].indirection).at(-1))?.[0] === 'A_Star'
      ) {
        // `(expr).*`: the fields of a composite value, of unknown number.
        items.push({ kind: 'rest', sources: exprSources(valNode[1].arg, ctx, this) });
        continue;
      }
      const name = typeof rt[1].name === 'string' ? rt[1].name : figureName(val);
      items.push({ kind: 'expr', name, sources: exprSources(val, ctx, this) });
    }
    return items;
  }

  /** `*` → every FROM item in order; `t.*` → that item's columns. */
  private expandStar(names: string[], ctx: Ctx, expand: Item[]): Item[] {
    if (names.length === 0) return expand;
    const name = names.at(-1) ?? '';
    const entry = findEntry(ctx.level, name, names.length >= 2 ? names.at(-2) : undefined);
    // Columns an `open` item may hide are assumed absent from its expansion (a function is assumed scalar).
    if (entry) return entry.items;
    // `c.*` with no FROM item `c`: the fields of a composite column.
    const sources = names.length === 1 ? resolveName(ctx.level, name, false) : [opaque('unknown relation')];
    return [{ kind: 'rest', sources }];
  }

  /** `VALUES (…), (…)`: columns column1…, each the union of its position across rows. */
  private values(lists: unknown[], ctx: Ctx): Item[] {
    const columns: SourceList[] = [];
    for (const list of lists) {
      const row = asNode(list);
      const exprs = row?.[0] === 'List' ? asArray(row[1].items) : [];
      exprs.forEach((expr, i) => {
        const column = (columns[i] ??= new SourceList());
        column.addAll(exprSources(expr, ctx, this));
      });
    }
    return columns.map((c, i) => ({ kind: 'expr', name: `column${i + 1}`, sources: c.items }));
  }

  /** A WITH clause: each CTE's shape, in scope for the later ones (and itself when RECURSIVE). */
  private withClause(clause: AstNode, ctx: Ctx): Ctes {
    const ctes: Ctes = { defs: new Map(), parent: ctx.ctes };
    const inner: Ctx = { level: ctx.level, ctes, depth: ctx.depth + 1 };
    for (const raw of asArray(clause.ctes)) {
      const cte = asNode(raw);
      if (cte?.[0] !== 'CommonTableExpr' || typeof cte[1].ctename !== 'string') continue;
      const name = cte[1].ctename;
      const colnames = stringList(cte[1].aliascolnames);
      const query = asNode(cte[1].ctequery);
      const recursive =
        clause.recursive === true &&
        query?.[0] === 'SelectStmt' &&
        query[1].op === 'SETOP_UNION' &&
        isObject(query[1].larg);
      if (recursive) ctes.defs.set(name, this.recursiveCte(name, query[1], colnames, ctes, inner));
      else ctes.defs.set(name, renameShape({ items: this.query(cte[1].ctequery, inner) }, colnames));
    }
    return ctes;
  }

  /** A recursive CTE: its non-recursive branch, then the whole UNION re-evaluated until its lineage stops growing. */
  private recursiveCte(name: string, query: AstNode, colnames: string[], ctes: Ctes, ctx: Ctx): Shape {
    const writes = this.writes.length;
    let shape = renameShape({ items: this.select(query.larg as AstNode, ctx) }, colnames);
    for (let round = 0; round < MAX_RECURSION_ROUNDS; round++) {
      ctes.defs.set(name, shape);
      this.writes.length = writes;
      const next = renameShape({ items: this.select(query, ctx) }, colnames);
      const merged: Shape = { items: mergeBranches(shape.items, next.items) };
      const open = unionSources(shape.open ?? [], next.open ?? []);
      if (open.length > 0) merged.open = open;
      if (JSON.stringify(merged) === JSON.stringify(shape)) return shape;
      shape = merged;
    }
    const unbounded = opaque(`recursive CTE "${name}" did not settle`);
    return { items: [{ kind: 'rest', sources: unionSources(itemSources(shape.items), [unbounded]) }] };
  }

  /** A FROM list, left to right; LATERAL items (and functions) see the items before them. */
  fromList(list: unknown[], ctx: Ctx): FromResult {
    const visible: Entry[] = [];
    const expand: Item[] = [];
    for (const item of list) {
      const result = this.fromItem(item, ctx, visible);
      visible.push(...result.visible);
      expand.push(...result.expand);
    }
    return { visible, expand };
  }

  /** One FROM item; `before` are the items to its left (for LATERAL). */
  fromItem(value: unknown, ctx: Ctx, before: Entry[]): FromResult {
    const node = asNode(value);
    const lateral = (): Ctx => ({ ...ctx, level: { entries: [...before], parent: ctx.level } });
    if (ctx.depth > MAX_DEPTH) return unknownItem('FROM nested too deeply');
    if (!node) return unknownItem('unknown FROM item');
    const [type, f] = node;
    const alias = isObject(f.alias) ? f.alias : undefined;
    const aliasName = typeof alias?.aliasname === 'string' ? alias.aliasname : undefined;
    const colnames = stringList(alias?.colnames);
    const single = (refname: string | undefined, shape: Shape): FromResult => {
      const entry: Entry = { refname, ...renameShape(shape, colnames) };
      return { visible: [entry], expand: entry.items };
    };
    switch (type) {
      case 'RangeVar': {
        const rel = relRef(f);
        if (!rel) return unknownItem('relation without a name');
        const cte = rel.schema === undefined ? findCte(ctx.ctes, rel.name) : undefined;
        if (cte) return single(aliasName ?? rel.name, cte);
        const base = single(aliasName ?? rel.name, { items: [{ kind: 'star', rel }] });
        const entry = base.visible[0];
        if (entry && aliasName === undefined && rel.schema !== undefined) entry.schema = rel.schema;
        // `FROM t AS x(a, b)`: renamed columns are still t's, so `*` still expands to t.
        return { visible: base.visible, expand: [{ kind: 'star', rel }] };
      }
      case 'RangeSubselect': {
        const items = this.query(f.subquery, f.lateral === true ? lateral() : ctx);
        return single(aliasName, { items });
      }
      case 'RangeFunction':
        return single(aliasName ?? this.functionRefname(f), this.functionShape(f, aliasName, lateral()));
      case 'RangeTableFunc':
        return single(aliasName ?? 'xmltable', this.xmlTableShape(f, lateral()));
      case 'JsonTable':
        return single(aliasName ?? 'json_table', this.jsonTableShape(f, lateral()));
      case 'RangeTableSample':
        return this.fromItem(f.relation, ctx, before);
      case 'JoinExpr':
        return this.join(f, ctx, before, aliasName, colnames);
      default:
        return unknownItem(`${type} in FROM`);
    }
  }

  private join(
    f: AstNode,
    ctx: Ctx,
    before: Entry[],
    aliasName: string | undefined,
    colnames: string[],
  ): FromResult {
    const deeper: Ctx = { ...ctx, depth: ctx.depth + 1 };
    const left = this.fromItem(f.larg, deeper, before);
    const right = this.fromItem(f.rarg, deeper, [...before, ...left.visible]);
    const expand = [...left.expand, ...right.expand];
    const visible = [...left.visible, ...right.visible];
    const usingAlias = isObject(f.join_using_alias) ? f.join_using_alias.aliasname : undefined;
    if (typeof usingAlias === 'string') {
      // `JOIN … USING (id) AS u`: u.id is the merged column of both sides.
      const level: Level = { entries: visible, parent: undefined };
      const items: Item[] = stringList(f.usingClause).map((name) => ({
        kind: 'expr',
        name,
        sources: resolveName(level, name, false),
      }));
      visible.push({ refname: usingAlias, items });
    }
    if (aliasName === undefined) return { visible, expand };
    const entry: Entry = { refname: aliasName, ...renameShape({ items: expand }, colnames) };
    return { visible: [entry], expand };
  }

  private functionRefname(f: AstNode): string | undefined {
    const functions = asArray(f.functions);
    if (functions.length !== 1) return undefined;
    const call = asNode(asArray(asNode(functions[0])?.[1].items)[0]);
    return call?.[0] === 'FuncCall' ? stringList(call[1].funcname).at(-1) : undefined;
  }

  /** A function in FROM: its columns derive from its arguments. */
  private functionShape(f: AstNode, aliasName: string | undefined, ctx: Ctx): Shape {
    const functions = asArray(f.functions);
    const items: Item[] = [];
    const open = new SourceList();
    let hasOpen = false;
    for (const fn of functions) {
      const parts = asArray(asNode(fn)?.[1].items);
      const call = parts[0];
      const callNode = asNode(call);
      const fname = callNode?.[0] === 'FuncCall' ? (stringList(callNode[1].funcname).at(-1) ?? '') : '';
      const sources = exprSources(call, ctx, this);
      const coldefs =
        columnDefNames(asNode(parts[1])?.[1].items) ??
        (functions.length === 1 ? columnDefNames(f.coldeflist) : undefined);
      const args = callNode?.[0] === 'FuncCall' ? asArray(callNode[1].args) : [];
      const composite = COMPOSITE_SRFS[fname];
      if (coldefs) {
        for (const name of coldefs) items.push({ kind: 'expr', name, sources });
      } else if (composite) {
        for (const name of composite) items.push({ kind: 'expr', name, sources });
      } else if (fname === 'unnest' && args.length > 1) {
        for (const arg of args)
          items.push({ kind: 'expr', name: 'unnest', sources: exprSources(arg, ctx, this) });
      } else {
        // Assumed scalar (one column, named after the alias or the function); it may be composite.
        const name = functions.length === 1 && aliasName !== undefined ? aliasName : fname || '?column?';
        items.push({ kind: 'expr', name, sources });
        if (!SCALAR_SRFS.has(fname)) {
          open.addAll(sources);
          hasOpen = true;
        }
      }
    }
    if (f.ordinality === true) items.push({ kind: 'expr', name: 'ordinality', sources: [] });
    return hasOpen ? { items, open: open.items } : { items };
  }

  /** XMLTABLE: its columns derive from the document, row and column expressions. */
  private xmlTableShape(f: AstNode, ctx: Ctx): Shape {
    const sources = exprSources([f.docexpr, f.rowexpr, f.namespaces], ctx, this);
    const items: Item[] = [];
    for (const raw of asArray(f.columns)) {
      const col = asNode(raw);
      if (col?.[0] !== 'RangeTableFuncCol') continue;
      const name = typeof col[1].colname === 'string' ? col[1].colname : '?column?';
      if (col[1].for_ordinality === true) items.push({ kind: 'expr', name, sources: [] });
      else {
        const own = exprSources([col[1].colexpr, col[1].coldefexpr], ctx, this);
        items.push({ kind: 'expr', name, sources: unionSources(sources, own) });
      }
    }
    return { items };
  }

  /** JSON_TABLE: its columns (NESTED ones flattened) derive from the context item and PASSING values. */
  private jsonTableShape(f: AstNode, ctx: Ctx): Shape {
    const sources = exprSources([f.context_item, f.passing], ctx, this);
    const items: Item[] = [];
    const walk = (columns: unknown, depth: number): void => {
      if (depth > 32) return;
      for (const raw of asArray(columns)) {
        const col = asNode(raw);
        if (col?.[0] !== 'JsonTableColumn') continue;
        if (col[1].coltype === 'JTC_NESTED') {
          walk(col[1].columns, depth + 1);
          continue;
        }
        const name = typeof col[1].name === 'string' ? col[1].name : '?column?';
        const own = exprSources([col[1].on_empty, col[1].on_error], ctx, this);
        items.push({
          kind: 'expr',
          name,
          sources: col[1].coltype === 'JTC_FOR_ORDINALITY' ? [] : unionSources(sources, own),
        });
      }
    };
    walk(f.columns, 0);
    return { items };
  }

  /** INSERT / UPDATE / DELETE / MERGE: records its writes; returns its RETURNING outputs (undefined without). */
  dml(type: string, f: AstNode, ctx: Ctx): Item[] | undefined {
    const ctes = isObject(f.withClause) ? this.withClause(f.withClause, ctx) : ctx.ctes;
    const outer: Ctx = { level: ctx.level, ctes, depth: ctx.depth + 1 };
    const target = relRef(f.relation);
    if (!target) return [{ kind: 'rest', sources: [opaque(`${type} without a target`)] }];
    const alias = isObject(f.relation) && isObject(f.relation.alias) ? f.relation.alias.aliasname : undefined;
    const targetEntry: Entry = {
      refname: typeof alias === 'string' ? alias : target.name,
      items: [{ kind: 'star', rel: target }],
    };
    if (typeof alias !== 'string' && target.schema !== undefined) targetEntry.schema = target.schema;
    const entries: Entry[] = [targetEntry];
    const expand: Item[] = [{ kind: 'star', rel: target }];
    switch (type) {
      case 'InsertStmt':
        this.insert(f, target, targetEntry, outer);
        break;
      case 'UpdateStmt': {
        const from = this.fromList(asArray(f.fromClause), outer);
        entries.push(...from.visible);
        expand.push(...from.expand);
        const level: Level = { entries, parent: ctx.level };
        this.assignments(asArray(f.targetList), target, { ...outer, level });
        break;
      }
      case 'DeleteStmt': {
        const using = this.fromList(asArray(f.usingClause), outer);
        entries.push(...using.visible);
        expand.push(...using.expand);
        break;
      }
      case 'MergeStmt': {
        const source = this.fromItem(f.sourceRelation, outer, []);
        entries.push(...source.visible);
        expand.push(...source.expand);
        this.mergeActions(asArray(f.mergeWhenClauses), target, {
          ...outer,
          level: { entries, parent: ctx.level },
        });
        break;
      }
    }
    const returning = isObject(f.returningClause) ? f.returningClause : undefined;
    if (!returning) return undefined;
    entries.push(...oldNewEntries(returning, target));
    const level: Level = { entries, parent: ctx.level };
    return this.targetList(asArray(returning.exprs), { ...outer, level }, expand);
  }

  /** INSERT's written values, and ON CONFLICT DO UPDATE's (whose scope adds `excluded`). */
  private insert(f: AstNode, target: RelRef, targetEntry: Entry, ctx: Ctx): void {
    const cols = asArray(f.cols)
      .map((c) => asNode(c))
      .map((c) => (c?.[0] === 'ResTarget' && typeof c[1].name === 'string' ? c[1].name : ''));
    const items = f.selectStmt === undefined ? undefined : this.query(f.selectStmt, ctx);
    if (items) {
      const flow: WriteFlow = { target, creates: false, temporary: false, source: this.result(items) };
      if (cols.length > 0) flow.columns = cols;
      this.writes.push(flow);
    }
    const conflict = isObject(f.onConflictClause) ? f.onConflictClause : undefined;
    if (conflict && Array.isArray(conflict.targetList)) {
      // `excluded` is the row proposed for insertion.
      const excluded: Entry =
        cols.length > 0 && items && items.every((i) => i.kind === 'expr')
          ? {
              refname: 'excluded',
              items: cols.map((name, i) => ({
                kind: 'expr',
                name,
                sources: itemSources(items[i] ? [items[i]] : []),
              })),
              open: [],
            }
          : { refname: 'excluded', items: [], open: itemSources(items ?? []) };
      const level: Level = { entries: [targetEntry, excluded], parent: ctx.level };
      this.assignments(conflict.targetList, target, { ...ctx, level });
    }
  }

  /** UPDATE SET / ON CONFLICT DO UPDATE SET / MERGE UPDATE SET: one write of the assigned columns. */
  private assignments(targets: unknown[], target: RelRef, ctx: Ctx): void {
    const columns: string[] = [];
    const outputs: Item[] = [];
    const multi = new Map<unknown, Item[]>();
    for (const raw of targets) {
      const rt = asNode(raw);
      if (rt?.[0] !== 'ResTarget') continue;
      const name = typeof rt[1].name === 'string' ? rt[1].name : '?column?';
      columns.push(name);
      outputs.push({ kind: 'expr', name, sources: this.assigned(rt[1].val, ctx, multi) });
    }
    if (columns.length === 0) return;
    this.writes.push({ target, creates: false, temporary: false, columns, source: this.result(outputs) });
  }

  /** The sources of one assigned value; `(a, b) = (SELECT …)` / `= ROW(…)` gives each column its own. */
  private assigned(value: unknown, ctx: Ctx, multi: Map<unknown, Item[]>): Source[] {
    const node = asNode(value);
    if (node?.[0] !== 'MultiAssignRef') return exprSources(value, ctx, this);
    const colno = typeof node[1].colno === 'number' ? node[1].colno : 0;
    const source = asNode(node[1].source);
    if (source?.[0] === 'RowExpr') {
      const arg = asArray(source[1].args)[colno - 1];
      return arg === undefined ? exprSources(source[1].args, ctx, this) : exprSources(arg, ctx, this);
    }
    if (source?.[0] === 'SubLink') {
      let items = multi.get(node[1].source);
      if (!items) {
        items = this.query(source[1].subselect, ctx);
        multi.set(node[1].source, items);
      }
      const item = items[colno - 1];
      return item?.kind === 'expr' && items.every((i) => i.kind === 'expr')
        ? item.sources
        : itemSources(items);
    }
    return exprSources(node[1].source, ctx, this);
  }

  /** MERGE's WHEN … THEN UPDATE SET / INSERT VALUES actions. */
  private mergeActions(clauses: unknown[], target: RelRef, ctx: Ctx): void {
    for (const raw of clauses) {
      const clause = asNode(raw);
      if (clause?.[0] !== 'MergeWhenClause') continue;
      const f = clause[1];
      if (f.commandType === 'CMD_UPDATE') this.assignments(asArray(f.targetList), target, ctx);
      else if (f.commandType === 'CMD_INSERT' && Array.isArray(f.values)) {
        const cols = asArray(f.targetList).map((c) => {
          const rt = asNode(c);
          return rt?.[0] === 'ResTarget' && typeof rt[1].name === 'string' ? rt[1].name : '';
        });
        const outputs: Item[] = f.values.map((v, i) => ({
          kind: 'expr',
          name: cols[i] ?? `column${i + 1}`,
          sources: exprSources(v, ctx, this),
        }));
        const flow: WriteFlow = { target, creates: false, temporary: false, source: this.result(outputs) };
        if (cols.length > 0) flow.columns = cols;
        this.writes.push(flow);
      }
    }
  }
}

/** A FROM item this analysis cannot follow: any column of it is opaque. */
function unknownItem(reason: string): FromResult {
  const sources = [opaque(reason)];
  return { visible: [{ refname: undefined, items: [], open: sources }], expand: [{ kind: 'rest', sources }] };
}

/** `[schema.]name.*` / `*` of a top-level target, as the names before the star; undefined otherwise. */
function starNames(value: unknown): string[] | undefined {
  const node = asNode(value);
  if (node?.[0] !== 'ColumnRef') return undefined;
  const fields = asArray(node[1].fields);
  if (asNode(fields.at(-1))?.[0] !== 'A_Star') return undefined;
  return stringList(fields.slice(0, -1));
}

/** Column names of a column definition list (`AS t(a int, b text)`), or undefined without one. */
function columnDefNames(list: unknown): string[] | undefined {
  const defs = asArray(list)
    .map((d) => asNode(d))
    .filter((d) => d?.[0] === 'ColumnDef');
  if (defs.length === 0) return undefined;
  return defs.map((d) => (typeof d?.[1].colname === 'string' ? d[1].colname : '?column?'));
}

/** RETURNING's `old`/`new` (or their WITH (OLD AS o, NEW AS n) names): rows of the target. */
function oldNewEntries(returning: AstNode, target: RelRef): Entry[] {
  let oldName = 'old';
  let newName = 'new';
  for (const raw of asArray(returning.options)) {
    const option = asNode(raw);
    if (option?.[0] !== 'ReturningOption' || typeof option[1].value !== 'string') continue;
    if (option[1].option === 'RETURNING_OPTION_OLD') oldName = option[1].value;
    else if (option[1].option === 'RETURNING_OPTION_NEW') newName = option[1].value;
  }
  return [oldName, newName].map((refname) => ({ refname, items: [{ kind: 'star', rel: target }] }));
}

/** True for a SELECT node that is a UNION / INTERSECT / EXCEPT. */
function isSetOp(node: AstNode): boolean {
  return typeof node.op === 'string' && node.op !== 'SETOP_NONE';
}
