import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { Detectors } from '../../policy/mask/detectors.js';
import { analyzeSql } from '../../policy/mask/lineage.js';
import { ColumnRules, type MaskingPolicy } from '../../policy/mask/rules.js';
import { ValueMasker } from '../../policy/mask/values.js';
import { parseSql } from '../../policy/parse.js';
import { wrappedType } from '../../policy/walk.js';
import { shapeKey } from '../../policy/shape-key.js';
import { Catalog, pgCatalogQuery, type CatalogQuery } from './catalog.js';
import { ResultMasker, type AnalyzedSql, type MaskContext, type MaskControl } from './result-masker.js';
import { Sensitivity } from './sensitivity.js';
import { WriteCheck } from './write-check.js';

/** A session's masking: one catalog connection, one HMAC key, one masker per client connection. */
export interface SessionMasking {
  createMasker(control: MaskControl): ResultMasker;
  /** The guard's check against copying masked data into unmasked columns (see WriteCheck). */
  writeCheck(sql: string): string | null | Promise<string | null>;
  /** Ends the catalog connection. */
  close(): Promise<void>;
}

const MAX_ANALYZED = 2_000;
/** Longer texts are analyzed every time rather than kept. */
const MAX_CACHED_LENGTH = 16_384;

/**
 * Sets up masking for a session, or returns undefined when the policy masks nothing. The
 * catalog is read over its own connection as the grant's role (`connect`), opened on first use.
 * `query` replaces that connection (tests).
 */
export function createSessionMasking(
  policy: MaskingPolicy,
  connect: pg.ClientConfig,
  query?: CatalogQuery,
): SessionMasking | undefined {
  const rules = new ColumnRules(policy);
  const detectors = Detectors.compile(policy.detectors);
  if (rules.empty && detectors.empty) return undefined;
  const connection = query ? { query, close: async () => {} } : pgCatalogQuery(connect);
  const analyzed = new Map<string, AnalyzedSql | undefined>();
  const analyze = (sql: string): AnalyzedSql | undefined => {
    const key = sql.length <= MAX_CACHED_LENGTH ? (shapeKey(sql) ?? sql) : undefined;
    if (key !== undefined && analyzed.has(key)) return analyzed.get(key);
    const result = analyzeWithKinds(sql);
    if (key !== undefined) {
      if (analyzed.size >= MAX_ANALYZED) analyzed.delete(analyzed.keys().next().value as string);
      analyzed.set(key, result);
    }
    return result;
  };
  const catalog = new Catalog(connection.query);
  const sensitivity = new Sensitivity(catalog, rules, (sql) => analyze(sql)?.statements);
  const writes = new WriteCheck(sensitivity, catalog, rules);
  const context: MaskContext = {
    sensitivity,
    detectors,
    values: new ValueMasker(randomBytes(32)),
    analyze,
  };
  return {
    createMasker: (control) => new ResultMasker(context, control),
    writeCheck: (sql) => writes.check(sql, analyze(sql)?.statements),
    close: () => connection.close(),
  };
}

function analyzeWithKinds(sql: string): AnalyzedSql | undefined {
  const statements = analyzeSql(sql);
  if (!statements) return undefined;
  const parsed = parseSql(sql);
  const kinds = parsed.ok
    ? (parsed.result.stmts ?? []).map((raw) =>
        raw.stmt ? (wrappedType(raw.stmt as Record<string, unknown>) ?? '') : '',
      )
    : [];
  return { statements, kinds };
}
