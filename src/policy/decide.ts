import type { Classification, StatementInfo } from './classify.js';
import type { Action, Policy, Rule } from './policy.js';

/** The policy's verdict on one query string. */
export interface Decision {
  action: Action;
  /** The rule that decided it (`parse-error` for unparseable text); absent when no rule matched. */
  rule?: string;
  /** Set in audit-only mode when enforce would have blocked or held the statement. */
  wouldBe?: 'block' | 'approve';
  /** A short sentence for people: "DROP TABLE is blocked by rule no-drop". */
  reason: string;
  /** The statement that decided it (the first of the most severe ones). */
  statement?: StatementInfo;
  /** Whether the decision may be reused for queries of the same shape. */
  cacheable: boolean;
}

const SEVERITY: Readonly<Record<Action, number>> = { allow: 0, approve: 1, block: 2 };

/**
 * Decides a classified query: each statement gets the action of the first rule that matches
 * it (allow when none does), and the query gets the most severe (block > approve > allow).
 * Unparseable text gets `on_parse_error` under rule `parse-error`. In audit-only mode the
 * action is always allow, and `wouldBe` says what enforce mode would have done.
 */
export function decide(policy: Policy, classification: Classification): Decision {
  const decision = enforce(policy, classification);
  if (policy.mode === 'audit-only' && decision.action !== 'allow') {
    return { ...decision, action: 'allow', wouldBe: decision.action };
  }
  return decision;
}

function enforce(policy: Policy, classification: Classification): Decision {
  const { parseError, statements, cacheable } = classification;
  if (parseError) {
    const action = policy.onParseError;
    return {
      action,
      rule: 'parse-error',
      reason: `SQL that cannot be parsed (${parseError.message}) ${verdict(action, 'parse-error')}`,
      cacheable: false,
    };
  }
  let best: { action: Action; rule?: Rule; statement: StatementInfo } | undefined;
  for (const statement of statements) {
    const rule = policy.rules.find((candidate) => matches(candidate, statement));
    const action = rule?.action ?? 'allow';
    if (best === undefined || SEVERITY[action] > SEVERITY[best.action]) {
      best = { action, statement, ...(rule && { rule }) };
    }
  }
  if (best === undefined) return { action: 'allow', reason: 'empty query', cacheable };
  if (best.rule === undefined) {
    const what = statements.length === 1 ? best.statement.tag : `${statements.length} statements`;
    return { action: 'allow', reason: `${what}: no rule matched, allowed`, cacheable };
  }
  return {
    action: best.action,
    rule: best.rule.name,
    reason: `${subject(best.statement, best.rule)} ${verdict(best.action, best.rule.name)}`,
    statement: best.statement,
    cacheable,
  };
}

function verdict(action: Action, rule: string): string {
  switch (action) {
    case 'block':
      return `is blocked by rule ${rule}`;
    case 'approve':
      return `needs approval (rule ${rule})`;
    case 'allow':
      return `is allowed by rule ${rule}`;
  }
}

/** What the statement is, in the terms of the rule that caught it. */
function subject(statement: StatementInfo, rule: Rule): string {
  const { match } = rule;
  const broad = rule.action !== 'allow';
  let text = statement.tag;
  if (match.unbounded === true && statement.unbounded && statement.unboundedReason) {
    text += ` ${statement.unboundedReason}`;
  } else if (match.functions) {
    const fn = statement.functions.find((f) => match.functions?.some((p) => nameMatches(p, f, broad)));
    if (fn !== undefined) text += ` calling ${fn}()`;
  } else if (match.settings || (statement.category === 'privilege' && statement.settings.length > 0)) {
    text += ` changing ${statement.settings.join(', ')}`;
  } else if (match.relations) {
    const rel = statement.relations.find((r) => match.relations?.some((p) => nameMatches(p, r, broad)));
    if (rel !== undefined) text += ` on ${rel}`;
  }
  return statement.nested ? `${text} (inside another statement)` : text;
}

/** Does `rule` match `statement`? All criteria must hold. */
export function matches(rule: Rule, statement: StatementInfo): boolean {
  const { match } = rule;
  // Block/approve rules match broadly (any entry); allow rules strictly (every entry).
  const broad = rule.action !== 'allow';
  if (match.statements && !match.statements.includes(statement.statement)) return false;
  if (match.categories && !match.categories.includes(statement.category)) return false;
  if (match.unbounded !== undefined && match.unbounded !== statement.unbounded) return false;
  if (match.functions && !listMatches(match.functions, statement.functions, broad, nameMatches)) return false;
  if (match.relations && !listMatches(match.relations, statement.relations, broad, nameMatches)) return false;
  if (match.settings && !listMatches(match.settings, statement.settings, broad, settingMatches)) return false;
  return true;
}

function listMatches(
  patterns: readonly string[],
  values: readonly string[],
  broad: boolean,
  one: (pattern: string, value: string, broad: boolean) => boolean,
): boolean {
  const hit = (value: string): boolean => patterns.some((pattern) => one(pattern, value, broad));
  return broad ? values.some(hit) : values.length > 0 && values.every(hit);
}

/**
 * `schema.name` against a pattern. Broadly (block/approve), an unqualified name on either side
 * matches by its last part — `secrets` may resolve to `public.secrets` through search_path —
 * and case is ignored. Strictly (allow), the glob must match the name as written.
 */
function nameMatches(pattern: string, value: string, broad: boolean): boolean {
  if (!broad) return glob(pattern, value, false);
  if (pattern.includes('.') && value.includes('.')) return glob(pattern, value, true);
  return glob(lastPart(pattern), lastPart(value), true);
}

/** A setting name; `*` (a name only known at run time) matches every block/approve pattern. */
function settingMatches(pattern: string, value: string, broad: boolean): boolean {
  if (value === '*') return broad || pattern === '*';
  return glob(pattern, value, broad);
}

function lastPart(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

/** `*` matches any run of characters, `?` one character. */
export function glob(pattern: string, value: string, ignoreCase: boolean): boolean {
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const s = ignoreCase ? value.toLowerCase() : value;
  let pi = 0;
  let si = 0;
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === s[si])) {
      pi++;
      si++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = si;
    } else if (star >= 0) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (p[pi] === '*') pi++;
  return pi === p.length;
}
