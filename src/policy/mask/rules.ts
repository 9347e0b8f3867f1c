import type { MaskSpec, MaskStrategy } from './types.js';
import type { DetectorDef } from './detectors.js';

/** A column rule as validated from the policy: globs and the strategy for matching columns. */
export interface ColumnRule {
  /** `schema.table.column` or `table.column` globs as written (`*` matches any run of characters). */
  columns: string[];
  strategy: MaskStrategy;
}

/** The policy's `masking:` section, validated. Empty lists: nothing is masked. */
export interface MaskingPolicy {
  columns: ColumnRule[];
  detectors: DetectorDef[];
}

/** A column of a base relation, as the catalog names it. */
export interface ColumnName {
  schema: string;
  table: string;
  column: string;
}

interface CompiledGlob {
  schema: RegExp | undefined;
  table: RegExp;
  column: RegExp;
}

/**
 * Statistics views hold sample values of every column (most common values, histogram bounds):
 * whenever masking is on, those columns are masked too, or `SELECT most_common_vals FROM
 * pg_stats` would read masked data back.
 */
const STATISTICS_COLUMNS = [
  'pg_catalog.pg_stats.most_common_vals',
  'pg_catalog.pg_stats.histogram_bounds',
  'pg_catalog.pg_stats.most_common_elems',
  'pg_catalog.pg_stats_ext.most_common_vals',
  'pg_catalog.pg_stats_ext_exprs.most_common_vals',
  'pg_catalog.pg_stats_ext_exprs.histogram_bounds',
  'pg_catalog.pg_stats_ext_exprs.most_common_elems',
];

/** Matches catalog column names against the policy's column rules (first matching rule wins). */
export class ColumnRules {
  readonly #rules: { globs: CompiledGlob[]; strategy: MaskStrategy }[];

  constructor(policy: MaskingPolicy) {
    this.#rules = policy.columns.map((rule) => ({
      globs: rule.columns.map(compileGlob),
      strategy: rule.strategy,
    }));
    if (policy.columns.length > 0 || policy.detectors.length > 0) {
      this.#rules.push({ globs: STATISTICS_COLUMNS.map(compileGlob), strategy: 'redact' });
    }
  }

  /** True when no column can ever be masked. */
  get empty(): boolean {
    return this.#rules.length === 0;
  }

  /** How values of this column are masked, or undefined when the rules leave it alone. */
  match(name: ColumnName): MaskSpec | undefined {
    for (const rule of this.#rules) {
      for (const glob of rule.globs) {
        if (glob.schema && !glob.schema.test(name.schema)) continue;
        if (glob.table.test(name.table) && glob.column.test(name.column)) {
          return { strategy: rule.strategy, label: name.column };
        }
      }
    }
    return undefined;
  }
}

/** Splits and checks one column glob; returns an error message, or undefined when it is valid. */
export function columnGlobProblem(glob: string): string | undefined {
  const parts = glob.split('.');
  if (parts.length < 2 || parts.length > 3) {
    return `'${glob}' must be table.column or schema.table.column (each part a name or a * glob)`;
  }
  if (parts.some((part) => part === '')) return `'${glob}' has an empty part`;
  return undefined;
}

function compileGlob(glob: string): CompiledGlob {
  const parts = glob.split('.');
  const column = parts[parts.length - 1] ?? '*';
  const table = parts[parts.length - 2] ?? '*';
  const schema = parts.length === 3 ? parts[0] : undefined;
  return {
    schema: schema === undefined || schema === '*' ? undefined : globRegExp(schema),
    table: globRegExp(table),
    column: globRegExp(column),
  };
}

/** `*` → any run of characters; everything else literal; case-insensitive (masks more, never less). */
function globRegExp(part: string): RegExp {
  const source = part
    .split('*')
    .map((piece) => piece.replace(/[\\^$.+?()[\]{}|]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 'i');
}
