import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseSync } from 'libpg-query';
import { beforeAll, describe, expect, it } from 'vitest';
import { classify } from '../../src/policy/classify.js';
import { decide, type Decision } from '../../src/policy/decide.js';
import { initParser } from '../../src/policy/parse.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import { CORPUS_DIR } from '../helpers/corpus.js';
import { splitScript, type ScriptStatement } from '../../src/policy/sql-script.js';

const CORPUS = CORPUS_DIR;
const TEMP_DROPPABLE = ['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_SEQUENCE', 'OBJECT_INDEX'];

interface Item extends ScriptStatement {
  file: string;
}

const items: Item[] = [];

beforeAll(async () => {
  await initParser();
  for (const file of readdirSync(CORPUS)
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    const text = readFileSync(path.join(CORPUS, file), 'utf8');
    items.push(...splitScript(text).map((s) => ({ ...s, file })));
  }
}, 60_000);

/**
 * What the default policy must do with a statement, from the raw AST's top-level node alone
 * (independent of classify): DROP-family and TRUNCATE → block (except the session's own
 * pg_temp objects), DELETE/UPDATE without WHERE → at least approval.
 */
function expectation(type: string, node: Record<string, unknown>): 'block' | 'held' | undefined {
  if (type === 'DropStmt') {
    const objects =
      (node.objects as { List?: { items?: { String?: { sval?: string } }[] } }[] | undefined) ?? [];
    const ownTemp =
      TEMP_DROPPABLE.includes(String(node.removeType)) &&
      node.behavior !== 'DROP_CASCADE' &&
      objects.every((o) => o.List?.items?.length === 2 && o.List.items[0]?.String?.sval === 'pg_temp');
    return ownTemp ? undefined : 'block';
  }
  if (type.startsWith('Drop') || type === 'TruncateStmt') return 'block';
  if ((type === 'DeleteStmt' || type === 'UpdateStmt') && node.whereClause === undefined) return 'held';
  return undefined;
}

describe('the PostgreSQL regression corpus through classify + decide(DEFAULT_POLICY)', () => {
  it('splits the corpus into statements', () => {
    expect(items.length).toBeGreaterThan(40_000);
  });

  it('never throws, and catches every DROP/TRUNCATE and every UPDATE/DELETE without WHERE', () => {
    const counts: Record<string, number> = {};
    const missed: string[] = [];
    const internal: string[] = [];
    let parsed = 0;
    let checked = 0;
    let classifyMs = 0;
    for (const item of items) {
      const started = performance.now();
      let decision: Decision;
      try {
        const classification = classify(item.sql);
        decision = decide(DEFAULT_POLICY, classification);
        if (classification.parseError?.message.startsWith('internal')) {
          internal.push(`${item.file}:${item.line}: ${classification.parseError.message}`);
        }
      } catch (error) {
        throw new Error(`${item.file}:${item.line} threw: ${String(error)}\n${item.sql}`, { cause: error });
      }
      classifyMs += performance.now() - started;
      const key = `${decision.action}:${decision.rule ?? '-'}`;
      counts[key] = (counts[key] ?? 0) + 1;

      let stmts;
      try {
        stmts = parseSync(item.sql).stmts ?? [];
        parsed++;
      } catch {
        continue;
      }
      for (const raw of stmts) {
        const [type, node] = Object.entries(raw.stmt ?? {})[0] ?? ['', {}];
        const expected = expectation(type, node as Record<string, unknown>);
        if (expected === undefined) continue;
        checked++;
        const ok = expected === 'block' ? decision.action === 'block' : decision.action !== 'allow';
        if (!ok)
          missed.push(`${item.file}:${item.line} expected ${expected}, got ${decision.action}: ${item.sql}`);
      }
    }
    const perSecond = Math.round(items.length / (classifyMs / 1000));
    console.log(
      `corpus: ${items.length} statements (${parsed} parse), ${checked} DROP/TRUNCATE/unbounded checked; ` +
        `classify+decide ${classifyMs.toFixed(0)} ms = ${perSecond} statements/s; decisions ${JSON.stringify(counts)}`,
    );
    expect(internal).toEqual([]);
    expect(missed).toEqual([]);
    expect(parsed).toBeGreaterThan(40_000);
    expect(checked).toBeGreaterThan(2_500);
  }, 120_000);

  it('classifies every statement that parses without a parse error, and every one that does not with one', () => {
    const disagreements: string[] = [];
    for (const item of items) {
      let valid = true;
      try {
        parseSync(item.sql);
      } catch {
        valid = false;
      }
      const c = classify(item.sql);
      if (valid === (c.parseError !== undefined))
        disagreements.push(`${item.file}:${item.line}: ${item.sql}`);
    }
    expect(disagreements).toEqual([]);
  }, 120_000);
});
