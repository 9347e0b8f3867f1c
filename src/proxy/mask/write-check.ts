import type { ColumnRules } from '../../policy/mask/rules.js';
import type { Source, StatementLineage, WriteFlow } from '../../policy/mask/types.js';
import type { Catalog } from './catalog.js';
import type { Sensitivity } from './sensitivity.js';

/**
 * Stops the way around masking that needs no SELECT at all: copying a masked column into one
 * that is not masked (`CREATE TEMP TABLE t AS SELECT email AS x …`, `INSERT INTO notes SELECT
 * ssn …`, `UPDATE orders SET memo = (SELECT card_number …)`), then reading the copy. A statement
 * may write a masked value only into a column the rules mask as well (`UPDATE customers SET
 * email = lower(email)` is fine). Answers are cached per statement text until DDL.
 */
export class WriteCheck {
  readonly #sensitivity: Sensitivity;
  readonly #catalog: Catalog;
  readonly #rules: ColumnRules;

  constructor(sensitivity: Sensitivity, catalog: Catalog, rules: ColumnRules) {
    this.#sensitivity = sensitivity;
    this.#catalog = catalog;
    this.#rules = rules;
  }

  /**
   * Why the statements of `sql` must not run (a sentence for the client), or null when they may;
   * synchronous when nothing needs looking up. A statement the lineage cannot follow but which
   * writes counts as copying masked data.
   */
  check(
    sql: string,
    lineage: readonly StatementLineage[] | undefined,
  ): string | null | Promise<string | null> {
    // Most statements write nothing: answer those without building anything.
    if (!lineage?.some((statement) => statement.writes.length > 0)) return null;
    const flows = lineage.flatMap((statement) => statement.writes);
    const opaqueWrite = lineage.some((statement) => statement.opaque && statement.writes.length > 0);
    if (opaqueWrite) return 'it writes values the masking analysis cannot follow';
    if (!flows.some((flow) => flow.source.outputs.some(hasSources))) return null;
    const key = `write\u0000${sql}`;
    const memo = this.#sensitivity.memo;
    if (memo.has(key)) return memo.get(key) as string | null;
    return (async () => {
      let verdict: string | null = null;
      for (const flow of flows) {
        verdict = await this.#checkFlow(flow);
        if (verdict) break;
      }
      memo.set(key, verdict);
      return verdict;
    })();
  }

  async #checkFlow(flow: WriteFlow): Promise<string | null> {
    const sources = await this.#sensitivity.expand(flow.source);
    if (!sources) return `it writes rows of unknown shape into ${flow.target.name}`;
    let targetColumns: string[] | undefined = flow.columns;
    let schema = flow.target.schema ?? (flow.temporary ? 'pg_temp' : 'public');
    let unknownTarget = false;
    if (!flow.creates && !flow.target.name.endsWith('()')) {
      await this.#catalog.loadNames([flow.target]);
      const relation = this.#catalog.cachedName(flow.target)?.[0];
      if (relation) {
        schema = relation.schema;
        targetColumns ??= relation.columns.map((column) => column.name);
      } else {
        // Not visible to the catalog connection (created in the agent's open transaction).
        schema = flow.target.schema ?? 'pg_temp';
        unknownTarget = targetColumns === undefined;
      }
    }
    for (let i = 0; i < sources.length; i++) {
      const list = sources[i] as Source[];
      if (list.length === 0) continue;
      const sensitive = await this.#sensitivity.ofSources(list);
      if (!sensitive) continue;
      if (flow.target.name.endsWith('()')) {
        return `it would pass the masked column ${sensitive.origin} to ${flow.target.name.slice(0, -2)}, which carries it past the masking`;
      }
      if (unknownTarget) {
        return `it would copy the masked column ${sensitive.origin} into ${flow.target.name}, whose columns cannot be checked yet (name them: INSERT INTO ${flow.target.name} (columns) …)`;
      }
      const column = targetColumns?.[i] ?? outputName(flow, i);
      const target =
        column === undefined ? undefined : this.#rules.match({ schema, table: flow.target.name, column });
      if (!target) {
        const into = column === undefined ? flow.target.name : `${flow.target.name}.${column}`;
        return `it would copy the masked column ${sensitive.origin} into ${into}, which is not masked`;
      }
    }
    return null;
  }
}

function hasSources(
  item: StatementLineage['result'] extends infer R ? (R extends { outputs: (infer O)[] } ? O : never) : never,
): boolean {
  return item.kind === 'star' || item.sources.length > 0;
}

/** The name CREATE TABLE AS gives column i: the source's output name. */
function outputName(flow: WriteFlow, index: number): string | undefined {
  let position = 0;
  for (const item of flow.source.outputs) {
    if (item.kind === 'star') return undefined;
    if (position === index) return item.name;
    position++;
  }
  return undefined;
}
