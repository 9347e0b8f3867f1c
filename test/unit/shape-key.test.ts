import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fingerprintSync, normalizeSync, scanSync } from 'libpg-query';
import { beforeAll, describe, expect, it } from 'vitest';
import { classify } from '../../src/policy/classify.js';
import { DecisionCache, scrubLiterals } from '../../src/policy/decision-cache.js';
import { decide } from '../../src/policy/decide.js';
import { initParser } from '../../src/policy/parse.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import { NUMBER_PLACEHOLDER, shapeKey, STRING_PLACEHOLDER } from '../../src/policy/shape-key.js';
import { splitScript } from '../../src/policy/sql-script.js';
import { CORPUS_DIR } from '../helpers/corpus.js';

const CORPUS = CORPUS_DIR;
const N = NUMBER_PLACEHOLDER;
const S = STRING_PLACEHOLDER;
const PGBENCH_SELECT = 'SELECT abalance FROM pgbench_accounts WHERE aid = 5';
const PGBENCH_UPDATE = 'UPDATE pgbench_accounts SET abalance = abalance + -5 WHERE aid = 7';
/** Scanner tokens that are literal values (and so placeholders in a key). */
const LITERAL_TOKENS = new Set(['ICONST', 'FCONST', 'SCONST']);

let corpus: string[] = [];

beforeAll(async () => {
  await initParser();
  corpus = readdirSync(CORPUS)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .flatMap((f) => splitScript(readFileSync(path.join(CORPUS, f), 'utf8')).map((s) => s.sql));
}, 60_000);

describe('shapeKey', () => {
  it('replaces numbers and simple strings, keeps everything else verbatim, collapses spaces', () => {
    expect(shapeKey(PGBENCH_UPDATE)).toBe(
      `UPDATE pgbench_accounts SET abalance = abalance + -${N} WHERE aid = ${N}`,
    );
    expect(shapeKey("SELECT * FROM t WHERE a = 'it''s' AND b IN (1.5, .5, 1e10, 2E-3, 7.)")).toBe(
      `SELECT * FROM t WHERE a = ${S} AND b IN (${N}, ${N}, ${N}, ${N}, ${N})`,
    );
    expect(shapeKey('SELECT  "Weird ""name"" 1"\t,\n\n $1 ,$22  ')).toBe(
      'SELECT "Weird ""name"" 1" ,\n$1 ,$22 ',
    );
    expect(shapeKey('select x1, a$1, é2 from t')).toBe('select x1, a$1, é2 from t');
    expect(shapeKey("SELECT ''")).toBe(`SELECT ${S}`);
    expect(shapeKey('SELECT 1::text')).toBe(`SELECT ${N}::text`);
  });

  it('gives literal-only variants the same key and anything else a different one', () => {
    expect(shapeKey('DELETE FROM t WHERE 1=1')).toBe(shapeKey('DELETE FROM t WHERE 1=0'));
    expect(shapeKey("SELECT 'a'")).toBe(shapeKey("SELECT 'a long ''quoted'' value'"));
    expect(shapeKey('SELECT 1')).not.toBe(shapeKey("SELECT '1'"));
    expect(shapeKey('SELECT a')).not.toBe(shapeKey('SELECT A'));
    expect(shapeKey('SELECT "a"')).not.toBe(shapeKey('SELECT a'));
    expect(shapeKey('SELECT $1')).not.toBe(shapeKey('SELECT $2'));
    expect(shapeKey('SELECT true')).not.toBe(shapeKey('SELECT false'));
    expect(shapeKey("SELECT 'a' 'b'")).not.toBe(shapeKey("SELECT 'a'\n'b'"));
  });

  it.each([
    ["SELECT E'\\x'", 'E string'],
    ["SELECT e'x'", 'e string'],
    ["SELECT U&'d\\0061t\\+000061'", 'U& string'],
    ["SELECT N'x'", 'N string'],
    ["SELECT B'101'", 'bit string'],
    ["SELECT X'1F'", 'hex string'],
    ['SELECT U&"d\\0061ta"', 'U& identifier'],
    ["SELECT 'a\\'", 'backslash in a string'],
    ['SELECT \\x', 'backslash'],
    ['SELECT $$x$$', 'dollar quoting'],
    ['SELECT $tag$x$tag$', 'tagged dollar quoting'],
    ['SELECT a$b', '$ in an identifier not before a digit'],
    ['SELECT $1abc', 'parameter glued to letters'],
    ['SELECT 1 -- c', 'line comment'],
    ['SELECT 1 /* c */', 'block comment'],
    ['SELECT 1--c', 'glued comment'],
    ['SELECT 0x1F', 'hex number'],
    ['SELECT 0b101', 'binary number'],
    ['SELECT 1_000', 'underscore number'],
    ['SELECT 1e', 'bad exponent'],
    ['SELECT 1e+', 'bad exponent sign'],
    ['SELECT 5abc', 'number glued to letters'],
    ['SELECT 1..2', 'number glued to a dot'],
    ['SELECT 1.2.3', 'two dots'],
    ["SELECT 'abc", 'unterminated string'],
    ['SELECT "abc', 'unterminated identifier'],
    ['SELECT 1\0', 'NUL'],
    ['SELECT \x01n', 'a placeholder smuggled in'],
    ["SELECT 'a'\n'b'", 'string continuation'],
    ["SELECT date'2020-01-01'", 'quote glued to an identifier'],
  ])('refuses %j (%s)', (sql) => {
    expect(shapeKey(sql)).toBeUndefined();
  });

  it("corresponds token for token to PostgreSQL's scanner on every corpus statement it keys", () => {
    let keyed = 0;
    const mismatches: string[] = [];
    for (const sql of corpus) {
      const key = shapeKey(sql);
      if (key === undefined) continue;
      keyed++;
      let tokens;
      try {
        tokens = scanSync(sql).tokens;
      } catch {
        mismatches.push(`scanner failed but shapeKey accepted: ${sql}`);
        continue;
      }
      let at = 0;
      let ok = true;
      for (const token of tokens) {
        while (key[at] === ' ' || key[at] === '\n') at++;
        if (token.tokenName === 'SQL_COMMENT' || token.tokenName === 'C_COMMENT') {
          ok = false;
          break;
        }
        const expected = LITERAL_TOKENS.has(token.tokenName)
          ? token.tokenName === 'SCONST'
            ? S
            : N
          : token.text;
        if (!key.startsWith(expected, at)) {
          ok = false;
          break;
        }
        at += expected.length;
      }
      while (key[at] === ' ' || key[at] === '\n') at++;
      if (!ok || at !== key.length) mismatches.push(sql);
    }
    console.log(`shapeKey: keyed ${keyed} of ${corpus.length} corpus statements`);
    expect(mismatches).toEqual([]);
    expect(keyed).toBeGreaterThan(30_000);
  }, 60_000);

  it('is fast on a pgbench statement', () => {
    const runs = 200_000;
    for (let i = 0; i < 10_000; i++) shapeKey(PGBENCH_UPDATE);
    const started = performance.now();
    for (let i = 0; i < runs; i++) shapeKey(PGBENCH_UPDATE);
    const us = ((performance.now() - started) * 1000) / runs;
    console.log(`shapeKey(pgbench UPDATE): ${us.toFixed(2)} µs`);
    expect(us).toBeLessThan(20);
  });
});

describe('DecisionCache', () => {
  it('never lets a shape hit carry a literal-dependent decision (WHERE 1=1 vs 1=0)', () => {
    const cache = new DecisionCache(DEFAULT_POLICY);
    expect(cache.lookup('DELETE FROM t WHERE 1=0').decision.action).toBe('allow');
    expect(cache.lookup('DELETE FROM t WHERE 1=1').decision.action).toBe('approve');
    expect(cache.lookup('DELETE FROM t WHERE 2=2').decision.action).toBe('approve');
    expect(cache.lookup('DELETE FROM t WHERE 2=3').decision.action).toBe('allow');
    expect(cache.size.shape).toBe(0);
  });

  it('reuses a cacheable decision for the same shape without classifying again', () => {
    const cache = new DecisionCache(DEFAULT_POLICY);
    const first = cache.lookup(PGBENCH_UPDATE);
    expect(first.classification).toBeDefined();
    const other = cache.lookup('UPDATE pgbench_accounts SET abalance = abalance + -1234 WHERE aid = 98765');
    expect(other.classification).toBeUndefined();
    expect(other.decision).toEqual(first.decision);
    expect(other.fingerprint).toBe(first.fingerprint);
    expect(other.normalized).toBe('UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2');
    expect(cache.size).toEqual({ exact: 1, shape: 1 });
  });

  it('returns the same decision, normalized text and fingerprint as the slow path (corpus, and literal variants)', () => {
    const cache = new DecisionCache(DEFAULT_POLICY, { maxEntries: 100_000 });
    const sample = corpus.filter((_, i) => i % 5 === 0);
    const differences: string[] = [];
    let shapeHits = 0;
    const variant = (sql: string): string =>
      sql.replace(/\b\d+\b/g, (d) => String(Number(d) + 1)).replace(/'([a-z]*)'/g, "'$1z'");
    for (const sql of sample) {
      for (const text of [sql, variant(sql), sql]) {
        const cached = cache.lookup(text);
        if (cached.classification === undefined) shapeHits++;
        const classification = classify(text);
        const slow = decide(DEFAULT_POLICY, classification);
        const withoutText = (d: typeof slow): object => ({
          ...d,
          statement: d.statement && { ...d.statement, text: '' },
        });
        const cachedDecision = withoutText(cached.decision);
        const slowDecision = withoutText(slow);
        if (JSON.stringify(cachedDecision) !== JSON.stringify(slowDecision)) {
          differences.push(
            `decision: ${text}\n  cached ${JSON.stringify(cachedDecision)}\n  slow   ${JSON.stringify(slowDecision)}`,
          );
        }
        if (classification.parseError === undefined && classification.statements.length > 0) {
          if (cached.fingerprint !== fingerprintSync(text)) differences.push(`fingerprint: ${text}`);
          if (cached.normalized !== scrubLiterals(normalizeSync(text)))
            differences.push(`normalized: ${text}`);
        }
      }
    }
    console.log(`DecisionCache: ${sample.length * 3} lookups, ${shapeHits} shape hits`);
    expect(differences).toEqual([]);
    expect(shapeHits).toBeGreaterThan(1_000);
  }, 120_000);

  it('never puts unparseable text in the audit forms verbatim', () => {
    const cache = new DecisionCache(DEFAULT_POLICY);
    const looked = cache.lookup("SELEC password = 'hunter2' -- secret");
    expect(looked.decision).toMatchObject({ action: 'block', rule: 'parse-error' });
    expect(looked.normalized).not.toContain('hunter2');
    expect(looked.normalized).not.toContain('secret');
    expect(looked.fingerprint).toMatch(/^unparsed:[0-9a-f]{16}$/);
  });

  it('is a bounded LRU', () => {
    const cache = new DecisionCache(DEFAULT_POLICY, { maxEntries: 3 });
    const first = Object.fromEntries(['a', 'b', 'c'].map((t) => [t, cache.lookup(`SELECT ${t} FROM t`)]));
    expect(cache.lookup('SELECT a FROM t')).toBe(first.a);
    cache.lookup('SELECT d FROM t');
    expect(cache.size).toEqual({ exact: 3, shape: 3 });
    expect(cache.lookup('SELECT a FROM t')).toBe(first.a);
    expect(cache.lookup('SELECT b FROM t')).not.toBe(first.b);
  });

  it('is fast on the hot path (pgbench statements)', () => {
    const cache = new DecisionCache(DEFAULT_POLICY);
    const time = (label: string, runs: number, sqlFor: (i: number) => string): number => {
      const texts = Array.from({ length: runs }, (_, i) => sqlFor(i));
      const started = performance.now();
      for (const text of texts) cache.lookup(text);
      const us = ((performance.now() - started) * 1000) / runs;
      console.log(`DecisionCache ${label}: ${us.toFixed(2)} µs per lookup`);
      return us;
    };
    const exact = time('exact hit', 50_000, () => PGBENCH_SELECT);
    const shape = time(
      'shape hit',
      50_000,
      (i) => `SELECT abalance FROM pgbench_accounts WHERE aid = ${i + 10}`,
    );
    const miss = time(
      'miss (classify + decide + normalize + fingerprint)',
      2_000,
      (i) => `SELECT abalance FROM pgbench_accounts WHERE aid = ${i} AND x${i} = 1`,
    );
    expect(exact).toBeLessThan(20);
    expect(shape).toBeLessThan(50);
    expect(miss).toBeGreaterThan(shape);
  });
});
