import type { RawStmt } from 'libpg-query';
import { parseSql, SourceText } from './parse.js';
import { canonicalSetting, isProtectedSettingChange } from './security-settings.js';
import { StatementLocator } from './statement-text.js';
import { statementKind, type Category, type StatementKind } from './statement-kinds.js';
import { asNode, isObject, minLocation, stringList, walkChildren, walkValue, type AstNode } from './walk.js';
import { parseBool, writeBounds, type EvalState } from './where-eval.js';

export type { Category } from './statement-kinds.js';

/** One statement found in a query: top-level, or nested inside another. */
export interface StatementInfo {
  /** Lowercase kind rules match on: select, insert, drop, create_role, alter_system, … */
  statement: string;
  category: Category;
  /** PostgreSQL-style command tag for messages (`DROP TABLE`, `CREATE INDEX`). */
  tag: string;
  /** Every function called anywhere in it, lowercased: bare names and, when written so, schema-qualified. */
  functions: string[];
  /** Tables/views it references, as written (`schema.name` when qualified). */
  relations: string[];
  /** UPDATE/DELETE/MERGE that can touch every row of its target. */
  unbounded: boolean;
  /** Why it is unbounded, as a phrase (`without a WHERE clause`). */
  unboundedReason?: string;
  /** Settings it changes (canonical names; `*` when the name is not known until run time). */
  settings: string[];
  /** Found inside another statement (CTE, EXPLAIN ANALYZE, PREPARE, CREATE TABLE AS, …). */
  nested: boolean;
  /** Its own source text. */
  text: string;
}

/** Everything the policy needs to know about one query string. */
export interface Classification {
  /** Top-level and nested statements, each followed by those nested in it. */
  statements: StatementInfo[];
  parseError?: { message: string; position?: number };
  /** False when the decision could depend on literal values or session state, so it must not be cached by shape. */
  cacheable: boolean;
}

/** Functions that run SQL given as text: the text is parsed and classified as nested statements. */
const SQL_TEXT_FUNCTIONS: ReadonlySet<string> = new Set([
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'ts_stat',
]);
/** How deep SQL found inside SQL strings is followed before it counts as opaque dynamic SQL. */
const MAX_SQL_DEPTH = 4;
/** Statement nodes that are parts of their parent statement, by parent node type. */
const PART_OF: Readonly<Record<string, ReadonlySet<string>>> = {
  SelectStmt: new Set(['SelectStmt', 'SubLink', 'RangeSubselect', 'InsertStmt', 'PLAssignStmt']),
  VariableSetStmt: new Set(['AlterRoleSetStmt', 'AlterDatabaseSetStmt', 'AlterSystemStmt', 'DefElem']),
  CreateStmt: new Set(['CreateForeignTableStmt']),
  GrantStmt: new Set(['AlterDefaultPrivilegesStmt']),
};
const RELATION_OBJECTS = new Set([
  'OBJECT_TABLE',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
  'OBJECT_FOREIGN_TABLE',
  'OBJECT_SEQUENCE',
  'OBJECT_INDEX',
]);
const TEMP_DROPPABLE = new Set(['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_SEQUENCE', 'OBJECT_INDEX']);
const PG_SETTINGS = new Set(['pg_settings', 'pg_catalog.pg_settings']);
const TRANSACTION_SETTINGS: Readonly<Record<string, string>> = {
  transaction_isolation: 'transaction_isolation',
  transaction_read_only: 'transaction_read_only',
  transaction_deferrable: 'transaction_deferrable',
};

interface Frame {
  info: StatementInfo;
  functions: Set<string>;
  relations: Set<string>;
  settings: Set<string>;
}

/**
 * Classifies every statement in `sql` — top-level ones and those nested anywhere in them —
 * from PostgreSQL's own grammar. Never throws: an internal failure comes back as a parse
 * error, which the policy blocks (or holds) like any unparseable text.
 * `initParser()` must have resolved first.
 */
export function classify(sql: string): Classification {
  try {
    return new Classifier().run(sql);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      statements: [],
      parseError: { message: `internal classifier error: ${reason}` },
      cacheable: false,
    };
  }
}

class Classifier {
  private readonly statements: StatementInfo[] = [];
  private readonly frames: Frame[] = [];
  private readonly evalState: EvalState = { literalUsed: false };
  private cacheable = true;
  /** > 0 while walking what a plain EXPLAIN plans but does not run. */
  private suppress = 0;
  private sqlDepth = 0;
  private source = new SourceText('');
  private locator = new StatementLocator(this.source);
  private range: [number, number] = [0, 0];

  run(sql: string): Classification {
    const outcome = parseSql(sql);
    if (!outcome.ok) {
      const parseError =
        outcome.position === undefined
          ? { message: outcome.message }
          : { message: outcome.message, position: outcome.position };
      return { statements: [], parseError, cacheable: false };
    }
    this.walkStatements(sql, outcome.result.stmts ?? []);
    return { statements: this.statements, cacheable: this.cacheable && !this.evalState.literalUsed };
  }

  private walkStatements(sql: string, stmts: RawStmt[]): void {
    const saved = { source: this.source, locator: this.locator, range: this.range };
    this.source = new SourceText(sql);
    this.locator = new StatementLocator(this.source);
    for (const raw of stmts) {
      const start = raw.stmt_location ?? 0;
      this.range = [start, raw.stmt_len ? start + raw.stmt_len : this.source.byteLength];
      walkValue(raw.stmt, 'RawStmt', 'stmt', this.visit);
    }
    ({ source: this.source, locator: this.locator, range: this.range } = saved);
  }

  private readonly visit = (type: string, node: AstNode, parentType: string | undefined): void => {
    const kind = statementKind(type, node);
    const partOfParent = parentType !== undefined && (PART_OF[type]?.has(parentType) ?? false);
    if (kind && !partOfParent && this.suppress === 0) {
      this.statement(type, node, kind);
      return;
    }
    switch (type) {
      case 'FuncCall':
        this.functionCall(node);
        break;
      case 'RangeVar':
        this.relation(node);
        break;
      case 'VariableSetStmt':
        this.variableSet(node);
        break;
    }
    walkChildren(type, node, this.visit);
  };

  /** Opens a statement, walks everything in it, and closes it. */
  private statement(type: string, node: AstNode, kind: StatementKind): void {
    const frame = this.open(type, node, kind);
    const info = frame.info;
    switch (type) {
      case 'SelectStmt':
        if (isObject(node.intoClause)) {
          // SELECT … INTO t: creates t from a query that also runs.
          info.statement = 'create';
          info.tag = 'SELECT INTO';
          info.category = isTemp(node.intoClause.rel) ? 'temp' : 'ddl';
          walkValue(node.intoClause, type, 'intoClause', this.visit);
          const select = this.open(type, node, { statement: 'select', category: 'read', tag: 'SELECT' });
          select.info.text = info.text;
          for (const key in node) if (key !== 'intoClause') walkValue(node[key], type, key, this.visit);
          this.close(select);
          this.close(frame);
          return;
        }
        break;
      case 'UpdateStmt':
      case 'DeleteStmt':
      case 'MergeStmt': {
        const bounds = writeBounds(type, node, this.evalState);
        info.unbounded = bounds.unbounded;
        if (bounds.reason !== undefined) info.unboundedReason = bounds.reason;
        break;
      }
      case 'CreateStmt':
      case 'CreateSeqStmt':
      case 'ViewStmt':
        if (isTemp(node.relation ?? node.sequence ?? node.view)) info.category = 'temp';
        break;
      case 'CreateTableAsStmt':
        if (isObject(node.into) && isTemp(node.into.rel)) info.category = 'temp';
        break;
      case 'DropStmt':
        this.drop(node, info);
        break;
      case 'CopyStmt':
        if (node.is_program === true || typeof node.filename === 'string') info.category = 'server_io';
        break;
      case 'ExplainStmt':
        if (!this.explainExecutes(node.options)) {
          walkValue(node.options, type, 'options', this.visit);
          this.suppress++;
          walkValue(node.query, type, 'query', this.visit);
          this.suppress--;
          this.close(frame);
          return;
        }
        break;
      case 'VariableSetStmt':
        this.variableSet(node);
        break;
      case 'TransactionStmt':
        this.transactionOptions(node.options);
        break;
      case 'PrepareStmt':
      case 'ExecuteStmt':
      case 'DeallocateStmt':
        this.cacheable = false;
        break;
      case 'CreateFunctionStmt':
        this.functionBody(node.options);
        break;
    }
    walkChildren(type, node, this.visit);
    this.close(frame);
  }

  private open(type: string, node: AstNode, kind: StatementKind): Frame {
    const nested = this.frames.length > 0;
    const [start, end] = this.range;
    const info: StatementInfo = {
      statement: kind.statement,
      category: kind.category,
      tag: kind.tag,
      functions: [],
      relations: [],
      unbounded: false,
      settings: [],
      nested,
      text: nested
        ? this.locator.nestedText(
            type,
            isObject(node.withClause),
            kind.tag.split(' ')[0] ?? '',
            minLocation(node),
            start,
            end,
          )
        : this.source.slice(start, end).trim(),
    };
    this.statements.push(info);
    const frame: Frame = { info, functions: new Set(), relations: new Set(), settings: new Set() };
    this.frames.push(frame);
    return frame;
  }

  private close(frame: Frame): void {
    this.frames.pop();
    const { info } = frame;
    // pg_settings has an UPDATE rule that calls set_config(): writing to it (or building on it) sets anything.
    const writes = info.category === 'write' || info.category === 'ddl' || info.category === 'temp';
    if (writes && [...frame.relations].some((r) => PG_SETTINGS.has(r.toLowerCase()))) {
      frame.settings.add('*');
      this.escalate([frame, ...this.frames]);
    }
    info.functions = [...frame.functions];
    info.relations = [...frame.relations];
    info.settings = [...frame.settings];
  }

  /** Marks the given statements as changing a protected setting (role statements stay `role`). */
  private escalate(frames: Frame[]): void {
    for (const { info } of frames) if (info.category !== 'role') info.category = 'privilege';
  }

  private functionCall(node: AstNode): void {
    const parts = stringList(node.funcname).map((p) => p.toLowerCase());
    const bare = parts.at(-1);
    if (bare === undefined) return;
    for (const frame of this.frames) {
      frame.functions.add(bare);
      if (parts.length > 1) frame.functions.add(parts.join('.'));
      if (parts.length > 2) frame.functions.add(parts.slice(-2).join('.'));
    }
    const args = Array.isArray(node.args) ? node.args : [];
    if (bare === 'set_config') {
      this.cacheable = false;
      const name = constString(argument(args, 0, 'setting_name'));
      const value = constString(argument(args, 1, 'new_value'));
      this.setting(
        name === undefined ? '*' : name,
        name === undefined || isProtectedSettingChange(name, value),
      );
    } else if (SQL_TEXT_FUNCTIONS.has(bare)) {
      this.cacheable = false;
      const text = constString(argument(args, 0, 'query'));
      if (text === undefined || !this.embeddedSql(text)) this.dynamicSql(`${bare}(…)`);
    }
  }

  /** Classifies SQL found in a string as nested statements; false when it cannot be read. */
  private embeddedSql(text: string): boolean {
    if (this.sqlDepth >= MAX_SQL_DEPTH) return false;
    const outcome = parseSql(text);
    if (!outcome.ok) return false;
    this.sqlDepth++;
    try {
      this.walkStatements(text, outcome.result.stmts ?? []);
    } finally {
      this.sqlDepth--;
    }
    return true;
  }

  /** SQL this classifier cannot see (built at run time): a statement of its own, `dynamic_sql`. */
  private dynamicSql(text: string): void {
    const frame = this.open(
      'DynamicSql',
      {},
      { statement: 'dynamic_sql', category: 'procedural', tag: 'DYNAMIC SQL' },
    );
    frame.info.text = text;
    this.close(frame);
  }

  /** A LANGUAGE sql function's body given as a string is classified too (it is approved as DDL anyway). */
  private functionBody(options: unknown): void {
    let language: string | undefined;
    let body: string | undefined;
    for (const option of Array.isArray(options) ? options : []) {
      const def = asNode(option);
      if (!def || def[0] !== 'DefElem') continue;
      if (def[1].defname === 'language') language = constString(def[1].arg)?.toLowerCase();
      if (def[1].defname === 'as') {
        const list = asNode(def[1].arg);
        body = list && list[0] === 'List' ? stringList(list[1].items)[0] : undefined;
      }
    }
    if (body === undefined) return;
    // The language may itself be a literal (LANGUAGE 'sql'): a same-shape text can differ in both.
    this.cacheable = false;
    if (language === 'sql') this.embeddedSql(body);
  }

  private relation(node: AstNode): void {
    const name = [node.catalogname, node.schemaname, node.relname]
      .filter((p): p is string => typeof p === 'string' && p !== '')
      .join('.');
    if (name === '') return;
    for (const frame of this.frames) frame.relations.add(name);
  }

  private drop(node: AstNode, info: StatementInfo): void {
    const objects = (Array.isArray(node.objects) ? node.objects : []).map((o) => {
      const list = asNode(o);
      return list && list[0] === 'List' ? stringList(list[1].items) : [];
    });
    if (RELATION_OBJECTS.has(String(node.removeType))) {
      for (const names of objects) if (names.length > 0) this.relation({ relname: names.join('.') });
    }
    const temp =
      TEMP_DROPPABLE.has(String(node.removeType)) &&
      node.behavior !== 'DROP_CASCADE' &&
      objects.length > 0 &&
      objects.every((names) => names.length === 2 && names[0] === 'pg_temp');
    if (temp) info.category = 'temp';
  }

  private setting(name: string, protectedChange: boolean): void {
    const canonical = name === '*' ? '*' : canonicalSetting(name);
    for (const frame of this.frames) frame.settings.add(canonical);
    if (protectedChange) this.escalate(this.frames);
  }

  /** SET / RESET, standalone or inside ALTER ROLE/DATABASE/SYSTEM … SET and function SET clauses. */
  private variableSet(node: AstNode): void {
    this.cacheable = false;
    const name = typeof node.name === 'string' ? node.name : '';
    switch (node.kind) {
      case 'VAR_SET_MULTI':
        // SET TRANSACTION … / SET SESSION CHARACTERISTICS AS TRANSACTION …
        this.transactionOptions(node.args, name === 'SESSION CHARACTERISTICS' ? 'default_' : '');
        return;
      case 'VAR_SET_VALUE': {
        const args = Array.isArray(node.args) ? node.args : [];
        const value = args.length === 1 ? constString(args[0]) : undefined;
        const canonical = canonicalSetting(name);
        // SET ROLE NONE returns to the login role.
        const toLoginRole = canonical === 'role' && value === 'none';
        this.setting(name, !toLoginRole && isProtectedSettingChange(name, value));
        return;
      }
      case 'VAR_RESET_ALL':
        this.setting('all', false);
        return;
      default:
        // RESET x, SET x TO DEFAULT, SET x FROM CURRENT: back to (or keeping) what the login gave.
        if (name !== '') this.setting(name, false);
    }
  }

  /** BEGIN/SET TRANSACTION options: READ WRITE lifts a read-only guard. */
  private transactionOptions(options: unknown, prefix = ''): void {
    for (const option of Array.isArray(options) ? options : []) {
      const def = asNode(option);
      if (!def || def[0] !== 'DefElem' || typeof def[1].defname !== 'string') continue;
      const name = `${prefix}${TRANSACTION_SETTINGS[def[1].defname] ?? def[1].defname}`;
      this.setting(name, isProtectedSettingChange(name, constString(def[1].arg)));
    }
  }

  /** EXPLAIN runs its statement only with ANALYZE (unless ANALYZE is clearly false). */
  private explainExecutes(options: unknown): boolean {
    let executes = false;
    for (const option of Array.isArray(options) ? options : []) {
      const def = asNode(option);
      if (!def || def[0] !== 'DefElem' || def[1].defname !== 'analyze') continue;
      if (def[1].arg === undefined) {
        executes = true;
        continue;
      }
      // `ANALYZE 0` / `ANALYZE 'off'`: the value is a literal a same-shape query could change.
      this.cacheable = false;
      const value = constString(def[1].arg);
      if (value === undefined || parseBool(value) !== false) executes = true;
    }
    return executes;
  }
}

/** True for a RangeVar that names a temporary relation (TEMP keyword or the pg_temp schema). */
function isTemp(rangeVar: unknown): boolean {
  return isObject(rangeVar) && (rangeVar.relpersistence === 't' || rangeVar.schemaname === 'pg_temp');
}

/** Positional argument `index`, or the named one (`name => value`) when named notation is used. */
function argument(args: unknown[], index: number, name: string): unknown {
  const named = args.map(asNode).filter((a) => a?.[0] === 'NamedArgExpr');
  if (named.length === 0) return args[index];
  if (index < args.length - named.length) return args[index];
  return named.find((a) => a?.[1].name === name)?.[1].arg;
}

/** The value of a string/number constant (possibly cast), or undefined when not a constant. */
function constString(value: unknown): string | undefined {
  const node = asNode(value);
  if (!node) return undefined;
  const [type, f] = node;
  switch (type) {
    case 'A_Const':
      if (isObject(f.sval)) return typeof f.sval.sval === 'string' ? f.sval.sval : '';
      if (isObject(f.ival)) return String(typeof f.ival.ival === 'number' ? f.ival.ival : 0);
      if (isObject(f.fval)) return String(f.fval.fval ?? '');
      if (isObject(f.boolval)) return f.boolval.boolval === true ? 'true' : 'false';
      return undefined;
    case 'String':
      return typeof f.sval === 'string' ? f.sval : '';
    case 'Integer':
      return String(typeof f.ival === 'number' ? f.ival : 0);
    case 'Boolean':
      return f.boolval === true ? 'true' : 'false';
    case 'TypeCast':
      return constString(f.arg);
    default:
      return undefined;
  }
}
