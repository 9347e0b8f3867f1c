/**
 * Column lineage of SQL statements: for each output column of a statement's result, the source
 * columns it is computed from, and the values each statement writes into relations. The proxy
 * uses it to mask computed columns (RowDescription names an origin only for plain column
 * references). Conservative by design: a false "derived from X" only over-masks, and what the
 * analysis cannot follow is reported as `opaque` (fail closed). Pure; no I/O.
 */
import { asNode, isObject, stringList, type AstNode } from '../walk.js';
import { parseSql } from '../parse.js';
import { parseBool } from '../where-eval.js';
import { copyOptions } from './lineage-copy.js';
import { QueryAnalyzer, relRef } from './lineage-query.js';
import { opaque, type Ctx, type Item } from './lineage-scope.js';
import type { CopyLineage, StatementLineage, WriteFlow } from './types.js';

/** Lineage of each top-level statement of `sql` (one entry per statement, in order); undefined when the text does not parse. Never throws: a statement the analysis cannot follow yields `{ writes: [], opaque: true }`. */
export function analyzeSql(sql: string): StatementLineage[] | undefined {
  let outcome;
  try {
    outcome = parseSql(sql);
  } catch {
    return undefined;
  }
  if (!outcome.ok) return undefined;
  return (outcome.result.stmts ?? []).map((raw) => {
    try {
      return lineageOfStatement(raw.stmt);
    } catch {
      return { writes: [], opaque: true };
    }
  });
}

/** Lineage of one parsed statement node (`{ SelectStmt: … }`); throws on an internal error, which analyzeSql turns into opaque. */
export function lineageOfStatement(stmt: unknown): StatementLineage {
  return statementLineage(stmt, 0);
}

const TOP: Ctx = { level: undefined, ctes: undefined, depth: 0 };

function statementLineage(stmt: unknown, nesting: number): StatementLineage {
  const node = asNode(stmt);
  if (!node || nesting > 8) return { writes: [], opaque: true };
  const [type, f] = node;
  const analyzer = new QueryAnalyzer();
  const lineage = analyze(type, f, analyzer, nesting);
  if (analyzer.unknownWidth) lineage.opaque = true;
  return lineage;
}

function analyze(type: string, f: AstNode, analyzer: QueryAnalyzer, nesting: number): StatementLineage {
  switch (type) {
    case 'SelectStmt': {
      const items = analyzer.select(f, TOP);
      if (!isObject(f.intoClause)) return { result: analyzer.result(items), writes: analyzer.writes };
      // SELECT … INTO t: creates t from the query's rows and returns none.
      const into = created(f.intoClause, analyzer, items);
      return { writes: [...analyzer.writes, ...into] };
    }
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt': {
      const items = analyzer.dml(type, f, TOP);
      return items === undefined
        ? { writes: analyzer.writes }
        : { result: analyzer.result(items), writes: analyzer.writes };
    }
    case 'CreateTableAsStmt': {
      const query = asNode(f.query);
      if (query?.[0] === 'ExecuteStmt') {
        const name = typeof query[1].name === 'string' ? query[1].name : '';
        const unknown: Item[] = [{ kind: 'rest', sources: [opaque(`EXECUTE ${name}`)] }];
        return { writes: created(f.into, analyzer, unknown), executes: name, opaque: true };
      }
      const items = analyzer.query(f.query, TOP);
      return { writes: [...analyzer.writes, ...created(f.into, analyzer, items)] };
    }
    case 'ViewStmt': {
      // A view copies nothing, but a view created in a transaction is invisible to the masking
      // catalog connection until commit: its columns are checked like the columns of a created
      // table (a masked column may only appear under a masked name).
      const items = analyzer.query(f.query, TOP);
      const target = relRef(f.view);
      if (!target) return { writes: analyzer.writes };
      const rel = isObject(f.view) ? f.view : {};
      const flow: WriteFlow = {
        target,
        creates: true,
        temporary: rel.relpersistence === 't' || rel.schemaname === 'pg_temp',
        source: analyzer.result(items),
      };
      const columns = stringList(f.aliases);
      if (columns.length > 0) flow.columns = columns;
      return { writes: [...analyzer.writes, flow] };
    }
    case 'CopyStmt':
      return copy(f, analyzer);
    case 'ExplainStmt': {
      if (!explainExecutes(f.options)) return { writes: [] };
      // EXPLAIN ANALYZE runs the statement: its writes happen; its rows are plan text.
      const inner = statementLineage(f.query, nesting + 1);
      const lineage: StatementLineage = { writes: inner.writes };
      if (inner.opaque === true || inner.executes !== undefined) lineage.opaque = true;
      return lineage;
    }
    case 'DeclareCursorStmt': {
      const items = analyzer.query(f.query, TOP);
      const cursor = typeof f.portalname === 'string' ? f.portalname : '';
      return { writes: analyzer.writes, declares: { cursor, result: analyzer.result(items) } };
    }
    case 'FetchStmt':
      if (f.ismove === true || typeof f.portalname !== 'string') return { writes: [] };
      return { writes: [], fetches: f.portalname };
    case 'PrepareStmt': {
      const name = typeof f.name === 'string' ? f.name : '';
      return { writes: [], prepares: { name, statement: statementLineage(f.query, nesting + 1) } };
    }
    case 'ExecuteStmt':
      return { writes: [], executes: typeof f.name === 'string' ? f.name : '' };
    default:
      return { writes: [] };
  }
}

/** The write of CREATE TABLE AS / SELECT INTO / CREATE MATERIALIZED VIEW into the relation it creates. */
function created(into: unknown, analyzer: QueryAnalyzer, items: Item[]): WriteFlow[] {
  if (!isObject(into)) return [];
  const target = relRef(into.rel);
  if (!target) return [];
  const rel = isObject(into.rel) ? into.rel : {};
  const temporary = rel.relpersistence === 't' || rel.schemaname === 'pg_temp';
  const flow: WriteFlow = { target, creates: true, temporary, source: analyzer.result(items) };
  const columns = stringList(into.colNames);
  if (columns.length > 0) flow.columns = columns;
  return [flow];
}

function copy(f: AstNode, analyzer: QueryAnalyzer): StatementLineage {
  const lineage: CopyLineage = {
    direction: f.is_from === true ? 'from' : 'to',
    stdio: f.filename === undefined && f.is_program !== true,
    options: copyOptions(f.options),
  };
  const rel = relRef(f.relation);
  if (rel) lineage.rel = rel;
  const columns = stringList(f.attlist);
  if (columns.length > 0) lineage.columns = columns;
  if (f.query !== undefined) lineage.query = analyzer.result(analyzer.query(f.query, TOP));
  return { copy: lineage, writes: analyzer.writes };
}

/** EXPLAIN runs its statement only with ANALYZE (unless ANALYZE is clearly false). */
function explainExecutes(options: unknown): boolean {
  let executes = false;
  for (const option of Array.isArray(options) ? options : []) {
    const def = asNode(option);
    if (def?.[0] !== 'DefElem' || def[1].defname !== 'analyze') continue;
    const arg = asNode(def[1].arg);
    if (!arg) {
      executes = true;
      continue;
    }
    const [type, v] = arg;
    const text =
      type === 'String' && typeof v.sval === 'string'
        ? v.sval
        : type === 'Boolean'
          ? String(v.boolval === true)
          : type === 'Integer'
            ? String(typeof v.ival === 'number' ? v.ival : 0)
            : undefined;
    if (text === undefined || parseBool(text) !== false) executes = true;
  }
  return executes;
}
