import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { suggestion } from '../config/schema.js';
import { parseDuration } from '../util/duration.js';
import { isJitError } from '../util/errors.js';
import { PolicyError } from './parse.js';
import { canonicalSetting } from './security-settings.js';
import { BUILTIN_DETECTORS, Detectors, type DetectorDef } from './mask/detectors.js';
import { columnGlobProblem, type MaskingPolicy } from './mask/rules.js';
import { MASK_STRATEGIES } from './mask/types.js';
import { CATEGORIES, knownStatementNames, type Category } from './statement-kinds.js';

/** What a rule does with a statement it matches. */
export type Action = 'allow' | 'block' | 'approve';

/**
 * Criteria on one statement; all given ones must hold (AND). A list criterion holds when any
 * of its entries matches — except in `allow` rules, where every function/relation/setting of
 * the statement must match one entry, so that `relations: [scratch.*]` cannot allow a
 * statement that also touches something else.
 */
export interface RuleMatch {
  statements?: string[];
  categories?: Category[];
  /** Function names or globs (`dblink*`), lowercase. */
  functions?: string[];
  unbounded?: boolean;
  /** Relation globs (`public.*`). */
  relations?: string[];
  /** Setting names or globs, canonical (`role`, `app.*`). */
  settings?: string[];
}

/** One named rule; the first rule matching a statement decides it. */
export interface Rule {
  name: string;
  match: RuleMatch;
  action: Action;
}

/** A validated policy (see design.md "Policy"). */
export interface Policy {
  mode: 'enforce' | 'audit-only';
  onParseError: 'block' | 'approve';
  approval: { timeoutMs: number; whenUnattended: 'deny' };
  audit: { sql: 'normalized' | 'raw'; durability: 'async' | 'sync' };
  rules: Rule[];
  /** Which columns and values are masked in results (design.md "Policy" → masking). */
  masking: MaskingPolicy;
  /** The file it came from, or 'built-in default'. */
  source: string;
}

/** Functions that touch the server's files, other servers, or other sessions. */
const SERVER_SIDE_FUNCTIONS = [
  'pg_read_file',
  'pg_read_binary_file',
  'pg_stat_file',
  'pg_ls_*',
  'pg_file_write',
  'pg_file_rename',
  'pg_file_unlink',
  'pg_file_sync',
  'pg_logdir_ls',
  'lo_import',
  'lo_export',
  'dblink*',
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_reload_conf',
  'pg_rotate_logfile',
  'pg_promote',
];

/**
 * The built-in rules, first match wins (block rules come before approval rules so that a
 * statement that is both, e.g. DDL calling pg_read_file, is blocked):
 * - temp-cleanup: DROP of the session's own `pg_temp.` tables/views/sequences/indexes (no CASCADE) → allow
 * - no-drop: DROP (every kind) and TRUNCATE → block
 * - server-admin: ALTER SYSTEM and LOAD → block
 * - privileges: GRANT/REVOKE, roles, SET ROLE / SESSION AUTHORIZATION and other protected settings → block
 * - server-side-io: pg_read_file, pg_ls_*, lo_import/lo_export, dblink*, pg_terminate_backend, … → block
 * - server-side-copy: COPY to/from a server file or PROGRAM → block
 * - unbounded-write: UPDATE/DELETE/MERGE without a limiting WHERE → approve
 * - ddl: CREATE/ALTER/COMMENT/CREATE EXTENSION/… (temporary tables and views excepted) → approve
 * - procedural: DO, CALL, and SQL built at run time (query_to_xml($1)) → approve
 * Everything else (reads, bounded writes, temp tables, SET search_path, transactions) → allow.
 */
export const DEFAULT_RULES: readonly Rule[] = [
  { name: 'temp-cleanup', match: { statements: ['drop'], categories: ['temp'] }, action: 'allow' },
  { name: 'no-drop', match: { statements: ['drop', 'truncate'] }, action: 'block' },
  { name: 'server-admin', match: { statements: ['alter_system', 'load'] }, action: 'block' },
  { name: 'privileges', match: { categories: ['privilege', 'role'] }, action: 'block' },
  { name: 'server-side-io', match: { functions: SERVER_SIDE_FUNCTIONS }, action: 'block' },
  { name: 'server-side-copy', match: { categories: ['server_io'] }, action: 'block' },
  {
    name: 'unbounded-write',
    match: { statements: ['update', 'delete', 'merge'], unbounded: true },
    action: 'approve',
  },
  { name: 'ddl', match: { categories: ['ddl'] }, action: 'approve' },
  { name: 'procedural', match: { statements: ['do', 'call', 'dynamic_sql'] }, action: 'approve' },
];

const DEFAULT_MASKING: MaskingPolicy = {
  columns: [
    {
      columns: [
        '*.email',
        '*.*email*',
        '*.ssn',
        '*.*phone*',
        '*.*card*',
        '*.password*',
        '*.*token*',
        '*.*secret*',
      ],
      strategy: 'partial',
    },
  ],
  detectors: ['email', 'credit_card', 'us_ssn', 'phone', 'jwt', 'aws_key'].map((name) => ({
    name,
    strategy: 'redact' as const,
  })),
};

const DEFAULT_TIMEOUT_MS = 120_000;

/** The policy used when none is configured. */
export const DEFAULT_POLICY: Policy = Object.freeze({
  mode: 'enforce',
  onParseError: 'block',
  approval: { timeoutMs: DEFAULT_TIMEOUT_MS, whenUnattended: 'deny' },
  audit: { sql: 'normalized', durability: 'async' },
  rules: DEFAULT_RULES.map((rule) => ({ ...rule, match: { ...rule.match } })),
  masking: DEFAULT_MASKING,
  source: 'built-in default',
}) as Policy;

const KEYS = {
  root: ['mode', 'on_parse_error', 'approval', 'audit', 'rules', 'masking'],
  approval: ['timeout', 'when_unattended'],
  audit: ['sql', 'durability'],
  rule: ['name', 'match', 'action'],
  match: ['statements', 'categories', 'functions', 'unbounded', 'relations', 'settings'],
  masking: ['columns', 'detect', 'strategy'],
  detector: ['name', 'pattern'],
} as const;
const AUDIT_SQL = ['normalized', 'raw'] as const;
const AUDIT_DURABILITY = ['async', 'sync'] as const;
const ACTIONS = ['allow', 'block', 'approve'] as const;
/** Bounds alias expansion ("billion laughs") in a hostile or broken file. */
const MAX_ALIAS_COUNT = 100;
const RULE_NAME = /^[A-Za-z0-9_.-]+$/;
const PATTERN = /^[A-Za-z0-9_$.*?"-]+$/;

/**
 * Reads a policy file; undefined → the built-in default. Errors are PolicyErrors naming the
 * file, the rule and the key.
 */
export async function loadPolicy(file?: string): Promise<Policy> {
  if (file === undefined) return DEFAULT_POLICY;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : String(code ?? error);
    throw new PolicyError('policy_unreadable', `cannot read policy file ${file}: ${reason}`, {
      cause: error,
    });
  }
  return parsePolicy(text, file);
}

/** Parses and validates a policy's YAML text; `file` names it in errors and becomes `source`. */
export function parsePolicy(text: string, file: string): Policy {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const [first] = doc.errors;
  if (first) {
    const { line, col } = lineCounter.linePos(first.pos[0]);
    throw new PolicyError('policy_yaml', `${file}:${line}:${col}: ${first.message}`);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new PolicyError('policy_yaml', `${file}: ${reason}`, { cause: error });
  }
  try {
    return validate(value, file);
  } catch (error) {
    if (isJitError(error)) throw error;
    throw new PolicyError('invalid_policy', `${file}: ${String(error)}`, { cause: error });
  }
}

type Doc = Record<string, unknown>;

class Validator {
  constructor(readonly file: string) {}

  /** One line naming the file and the key (errors are printed as a single line). */
  fail(key: string, message: string): never {
    throw new PolicyError('invalid_policy', `${this.file}: ${key ? `\`${key}\`: ` : ''}${message}`);
  }

  mapping(key: string, value: unknown): Doc {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(key, `must be a mapping (got ${describe(value)})`);
    }
    return value as Doc;
  }

  keys(key: string, doc: Doc, allowed: readonly string[]): void {
    for (const name of Object.keys(doc)) {
      if (!allowed.includes(name)) {
        const where = key ? `${key}.${name}` : name;
        const known = suggestion(name, allowed) || ` (allowed: ${allowed.join(', ')})`;
        this.fail(where, `unknown key${known}`);
      }
    }
  }

  oneOf<T extends string>(key: string, value: unknown, options: readonly T[]): T {
    if (typeof value !== 'string' || !(options as readonly string[]).includes(value)) {
      const got = typeof value === 'string' ? `'${value}'` : describe(value);
      const hint = typeof value === 'string' ? suggestion(value, options) : '';
      this.fail(key, `must be one of ${options.join(' | ')} (got ${got})${hint}`);
    }
    return value as T;
  }

  strings(key: string, value: unknown): string[] {
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list) || list.length === 0) this.fail(key, 'must be a non-empty list of names');
    return list.map((item, i) => {
      if (typeof item !== 'string' || item.trim() === '')
        this.fail(`${key}[${i}]`, `must be a name (got ${describe(item)})`);
      return item.trim();
    });
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function validate(raw: unknown, file: string): Policy {
  const v = new Validator(file);
  if (raw === null || raw === undefined) {
    v.fail('', 'the file is empty; write at least `rules:` (see `jit policy check --help`)');
  }
  const root = v.mapping('', raw);
  v.keys('', root, KEYS.root);
  const mode = v.oneOf('mode', root.mode ?? 'enforce', ['enforce', 'audit-only'] as const);
  if (root.on_parse_error === 'allow') {
    v.fail(
      'on_parse_error',
      'allow is not permitted: SQL the parser cannot read cannot be checked, so use block (default) or approve',
    );
  }
  const onParseError = v.oneOf('on_parse_error', root.on_parse_error ?? 'block', [
    'block',
    'approve',
  ] as const);
  const approval = parseApproval(v, root.approval);
  const audit = parseAudit(v, root.audit);
  const rules = root.rules === undefined ? DEFAULT_POLICY.rules : parseRules(v, root.rules);
  const masking =
    root.masking === undefined || root.masking === null
      ? DEFAULT_POLICY.masking
      : parseMasking(v, root.masking);
  return { mode, onParseError, approval, audit, rules, masking, source: file };
}

/**
 * `masking:` — a list of `{ columns: [globs], strategy }` and `{ detect: [names or
 * { name, pattern }], strategy }` entries; `masking: []` turns masking off.
 */
function parseMasking(v: Validator, raw: unknown): MaskingPolicy {
  if (!Array.isArray(raw)) {
    v.fail('masking', `must be a list (got ${describe(raw)}); write \`masking: []\` to mask nothing`);
  }
  const policy: MaskingPolicy = { columns: [], detectors: [] };
  raw.forEach((item, index) => {
    const key = `masking[${index}]`;
    const doc = v.mapping(key, item);
    v.keys(key, doc, KEYS.masking);
    // YAML reads a bare `null` as no value: `strategy: null` means the null strategy.
    const written = 'strategy' in doc ? (doc.strategy === null ? 'null' : doc.strategy) : 'redact';
    const strategy = v.oneOf(`${key}.strategy`, written, MASK_STRATEGIES);
    if ((doc.columns === undefined) === (doc.detect === undefined)) {
      v.fail(key, 'needs exactly one of `columns:` (column globs) or `detect:` (value detectors)');
    }
    if (doc.columns !== undefined) {
      const columns = v.strings(`${key}.columns`, doc.columns);
      columns.forEach((glob, i) => {
        const problem = columnGlobProblem(glob);
        if (problem) v.fail(`${key}.columns[${i}]`, problem);
      });
      policy.columns.push({ columns, strategy });
      return;
    }
    const list = typeof doc.detect === 'string' ? [doc.detect] : doc.detect;
    if (!Array.isArray(list) || list.length === 0) {
      v.fail(`${key}.detect`, `must be a non-empty list of detector names (${BUILTIN_DETECTORS.join(', ')})`);
    }
    list.forEach((entry, i) => {
      const at = `${key}.detect[${i}]`;
      let def: DetectorDef;
      if (typeof entry === 'string') {
        if (!BUILTIN_DETECTORS.includes(entry)) {
          const hint = suggestion(entry, BUILTIN_DETECTORS) || ` (built-in: ${BUILTIN_DETECTORS.join(', ')})`;
          v.fail(at, `unknown detector '${entry}'${hint}; or write { name, pattern } for your own`);
        }
        def = { name: entry, strategy };
      } else {
        const custom = v.mapping(at, entry);
        v.keys(at, custom, KEYS.detector);
        if (typeof custom.name !== 'string' || !RULE_NAME.test(custom.name)) {
          v.fail(`${at}.name`, 'required: letters, digits, `_`, `.` and `-`');
        }
        if (typeof custom.pattern !== 'string' || custom.pattern === '') {
          v.fail(`${at}.pattern`, 'required: a regular expression (JavaScript syntax)');
        }
        def = { name: custom.name, strategy, pattern: custom.pattern };
      }
      try {
        Detectors.compile([def]);
      } catch (error) {
        v.fail(at, error instanceof Error ? error.message : String(error));
      }
      policy.detectors.push(def);
    });
  });
  return policy;
}

function parseApproval(v: Validator, raw: unknown): Policy['approval'] {
  if (raw === undefined || raw === null) return { timeoutMs: DEFAULT_TIMEOUT_MS, whenUnattended: 'deny' };
  const approval = v.mapping('approval', raw);
  v.keys('approval', approval, KEYS.approval);
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (approval.timeout !== undefined) {
    if (typeof approval.timeout !== 'string') {
      v.fail('approval.timeout', `must be a duration like 120s or 5m (got ${describe(approval.timeout)})`);
    }
    try {
      timeoutMs = parseDuration(approval.timeout, 'approval.timeout');
    } catch (error) {
      v.fail(
        'approval.timeout',
        error instanceof Error ? error.message.replace(/^`[^`]*` /, '') : String(error),
      );
    }
  }
  const whenUnattended = v.oneOf('approval.when_unattended', approval.when_unattended ?? 'deny', [
    'deny',
  ] as const);
  return { timeoutMs, whenUnattended };
}

/** `audit: raw`, `audit: [raw, sync]`, or `audit: { sql: raw, durability: sync }`. */
function parseAudit(v: Validator, raw: unknown): Policy['audit'] {
  const audit: Policy['audit'] = { sql: 'normalized', durability: 'async' };
  if (raw === undefined || raw === null) return audit;
  const shorthand = (key: string, word: unknown): void => {
    const all = [...AUDIT_SQL, ...AUDIT_DURABILITY] as const;
    const value = v.oneOf(key, word, all);
    if ((AUDIT_SQL as readonly string[]).includes(value)) audit.sql = value as Policy['audit']['sql'];
    else audit.durability = value as Policy['audit']['durability'];
  };
  if (typeof raw === 'string') shorthand('audit', raw);
  else if (Array.isArray(raw)) raw.forEach((word, i) => shorthand(`audit[${i}]`, word));
  else {
    const doc = v.mapping('audit', raw);
    v.keys('audit', doc, KEYS.audit);
    if (doc.sql !== undefined) audit.sql = v.oneOf('audit.sql', doc.sql, AUDIT_SQL);
    if (doc.durability !== undefined)
      audit.durability = v.oneOf('audit.durability', doc.durability, AUDIT_DURABILITY);
  }
  return audit;
}

function parseRules(v: Validator, raw: unknown): Rule[] {
  if (!Array.isArray(raw)) {
    v.fail('rules', `must be a list of rules (got ${describe(raw)}); write \`rules: []\` for none`);
  }
  const seen = new Map<string, number>();
  return raw.map((item, index) => {
    const label = `rules[${index}]`;
    const doc = v.mapping(label, item);
    const named = typeof doc.name === 'string' ? `${label} (${doc.name})` : label;
    v.keys(named, doc, KEYS.rule);
    if (typeof doc.name !== 'string' || doc.name === '')
      v.fail(`${label}.name`, 'required: a short name for messages and audit');
    const name = doc.name;
    if (!RULE_NAME.test(name)) v.fail(`${named}.name`, 'may only contain letters, digits, `_`, `.` and `-`');
    if (name === 'parse-error')
      v.fail(`${named}.name`, "'parse-error' is reserved for unparseable statements");
    const previous = seen.get(name);
    if (previous !== undefined) v.fail(`${named}.name`, `duplicate rule name (also rules[${previous}])`);
    seen.set(name, index);
    if (doc.action === undefined) v.fail(`${named}.action`, `required: ${ACTIONS.join(' | ')}`);
    const action = v.oneOf(`${named}.action`, doc.action, ACTIONS);
    if (doc.match === undefined)
      v.fail(`${named}.match`, 'required (use `match: {}` to match every statement)');
    const match = parseMatch(v, `${named}.match`, doc.match ?? {});
    return { name, match, action };
  });
}

function parseMatch(v: Validator, key: string, raw: unknown): RuleMatch {
  const doc = raw === null ? {} : v.mapping(key, raw);
  v.keys(key, doc, KEYS.match);
  const match: RuleMatch = {};
  if (doc.statements !== undefined) {
    const known = knownStatementNames();
    match.statements = v.strings(`${key}.statements`, doc.statements).map((name, i) => {
      const lower = name.toLowerCase();
      if (!known.includes(lower)) {
        v.fail(`${key}.statements[${i}]`, `unknown statement '${name}'${suggestion(lower, known)}`);
      }
      return lower;
    });
  }
  if (doc.categories !== undefined) {
    match.categories = v.strings(`${key}.categories`, doc.categories).map((name, i) => {
      const lower = name.toLowerCase();
      if (!(CATEGORIES as readonly string[]).includes(lower)) {
        const hint = suggestion(lower, CATEGORIES) || ` (categories: ${CATEGORIES.join(', ')})`;
        v.fail(`${key}.categories[${i}]`, `unknown category '${name}'${hint}`);
      }
      return lower as Category;
    });
  }
  for (const list of ['functions', 'relations', 'settings'] as const) {
    if (doc[list] === undefined) continue;
    match[list] = v.strings(`${key}.${list}`, doc[list]).map((pattern, i) => {
      if (!PATTERN.test(pattern)) {
        v.fail(
          `${key}.${list}[${i}]`,
          `'${pattern}' is not a name or glob (letters, digits, _ $ . - and * ?)`,
        );
      }
      return list === 'settings'
        ? canonicalSetting(pattern)
        : list === 'functions'
          ? pattern.toLowerCase()
          : pattern;
    });
  }
  if (doc.unbounded !== undefined) {
    if (typeof doc.unbounded !== 'boolean')
      v.fail(`${key}.unbounded`, `must be true or false (got ${describe(doc.unbounded)})`);
    match.unbounded = doc.unbounded;
  }
  return match;
}
