/**
 * Shared vocabulary of the masking code: how a value is masked, and what a statement's result
 * columns and written values are derived from (lineage). Pure data; no I/O.
 */

/** How a sensitive value is replaced (design.md "Policy" → masking). */
export type MaskStrategy = 'redact' | 'partial' | 'hash' | 'null';

/** Every strategy, for validating policy files. */
export const MASK_STRATEGIES: readonly MaskStrategy[] = ['redact', 'partial', 'hash', 'null'];

/** How one result column (or detected substring) is masked. */
export interface MaskSpec {
  strategy: MaskStrategy;
  /** What `redact` shows: `[REDACTED:<label>]` — the column's name or the detector's. */
  label: string;
}

/**
 * A relation as the SQL names it, names folded the way PostgreSQL folds them (unquoted →
 * lowercase; quoted → as written). `schema` only when the SQL qualifies the name.
 */
export interface RelRef {
  schema?: string;
  name: string;
}

/** Where a value of a result column (or a written value) may come from. */
export type Source =
  /** `t.col` (or an unqualified `col` that only one relation in scope can supply) of a table or view. */
  | { kind: 'column'; rel: RelRef; column: string }
  /** An unqualified `col` with several base relations in scope: whichever of them has it (possibly several). */
  | { kind: 'column-of-any'; rels: RelRef[]; column: string }
  /** A whole row (`row_to_json(c)`, `c`, `c.*` inside an expression): every column of the relation. */
  | { kind: 'row'; rel: RelRef }
  /** Something the analysis cannot follow (treated as sensitive: fail closed). */
  | { kind: 'opaque'; reason: string };

/** One item of a result's column list, in output order. */
export type OutputItem =
  /** One output column: its name as the server reports it (`?column?` when unnamed) and its sources (empty: a constant, `count(*)`). */
  | { kind: 'expr'; name: string; sources: Source[] }
  /** A top-level `*` / `t.*` over a base relation: one output column per column of the relation, in attnum order. */
  | { kind: 'star'; rel: RelRef };

/** What a row-returning statement's columns derive from. */
export interface ResultLineage {
  outputs: OutputItem[];
}

/** Options of a COPY statement that shape its data stream (https://www.postgresql.org/docs/current/sql-copy.html). */
export interface CopyOptions {
  format: 'text' | 'csv' | 'binary';
  /** Single character; default tab (text) or comma (csv). */
  delimiter: string;
  /** The NULL marker; default `\N` (text) or the empty string (csv). */
  null: string;
  /** csv only: default `"`. */
  quote: string;
  /** csv only: default = quote. */
  escape: string;
  /** csv (and text since PostgreSQL 15... only csv for output): the first line is a header. */
  header: boolean;
}

/** A COPY statement. */
export interface CopyLineage {
  direction: 'to' | 'from';
  /** TO STDOUT / FROM STDIN (data flows through the proxy) rather than a server file or program. */
  stdio: boolean;
  /** `COPY rel [(columns)]`. */
  rel?: RelRef;
  /** The explicit column list, when given. */
  columns?: string[];
  /** `COPY (query) TO`. */
  query?: ResultLineage;
  options: CopyOptions;
}

/**
 * Values written into a relation by a statement (INSERT … SELECT/VALUES, UPDATE … SET,
 * MERGE, CREATE TABLE AS, SELECT INTO): position i of `source` goes to `columns[i]`, or to
 * the i-th column of the target when `columns` is absent.
 */
export interface WriteFlow {
  target: RelRef;
  /** True when the statement creates the target (CREATE TABLE AS, SELECT INTO): its columns are named by `columns` or by the source's output names. */
  creates: boolean;
  /** The target's temporary-ness when it creates it (CREATE TEMP TABLE … AS). */
  temporary: boolean;
  columns?: string[];
  source: ResultLineage;
}

/** What one top-level statement reads into its result and writes elsewhere. */
export interface StatementLineage {
  /** The analysis could not follow this statement: every derived value of it counts as sensitive, its writes as unknown. */
  opaque?: boolean;
  /** Present for statements that return rows: SELECT, VALUES, TABLE, … RETURNING, EXPLAIN is not one (its rows are plan text). */
  result?: ResultLineage;
  copy?: CopyLineage;
  writes: WriteFlow[];
  /** `DECLARE name CURSOR FOR query`: FETCH from it returns `result`. */
  declares?: { cursor: string; result: ResultLineage };
  /** `FETCH`/`MOVE … FROM name`: the cursor whose rows it returns. */
  fetches?: string;
  /** `PREPARE name AS stmt`. */
  prepares?: { name: string; statement: StatementLineage };
  /** `EXECUTE name`: the SQL-level prepared statement it runs. */
  executes?: string;
}
