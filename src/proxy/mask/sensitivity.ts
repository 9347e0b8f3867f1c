import type { ColumnRules } from '../../policy/mask/rules.js';
import type { MaskSpec, RelRef, ResultLineage, Source, StatementLineage } from '../../policy/mask/types.js';
import type { Catalog, CatalogRelation } from './catalog.js';

/** Why a column is masked: how, and which source column (for the audit record). */
export interface Sensitive {
  spec: MaskSpec;
  /** `schema.table.column` of the masked source, or `derived (…)` when the analysis had to assume. */
  origin: string;
  /**
   * The value is computed from the masked source (an expression, a view's expression), not the
   * column itself: `partial` would keep parts of whatever else the expression added
   * (`format('%s/%s', email, card)`), so such values are redacted instead.
   */
  derived: boolean;
  /** The relation is not visible to the catalog connection (created in the agent's open transaction). */
  unknownRelation?: boolean;
}

/** Views nest; beyond this depth a column counts as sensitive rather than being followed further. */
const MAX_DEPTH = 8;

/**
 * Decides which result columns are sensitive, from the catalog and the policy's column rules:
 * a column of a table by name; a column of a view (or materialized view) by what its definition
 * computes it from; a computed column by its lineage. Anything it cannot follow counts as
 * sensitive (fail closed). Results are cached until `invalidate()` (DDL).
 */
export class Sensitivity {
  readonly #catalog: Catalog;
  readonly #rules: ColumnRules;
  readonly #analyze: (sql: string) => StatementLineage[] | undefined;
  #columns = new Map<string, Promise<Sensitive | null>>();
  /** Results derived from the answers above (e.g. a RowDescription's masking plan), cleared with them. */
  readonly memo = new Map<string, unknown>();
  /** Bumped by every `invalidate()`: answers kept elsewhere are stale once it moved. */
  generation = 0;

  constructor(
    catalog: Catalog,
    rules: ColumnRules,
    analyze: (sql: string) => StatementLineage[] | undefined,
  ) {
    this.#catalog = catalog;
    this.#rules = rules;
    this.#analyze = analyze;
  }

  /** Forgets cached answers and the catalog (after DDL). */
  invalidate(): void {
    this.generation++;
    this.#columns = new Map();
    this.memo.clear();
    this.#catalog.invalidate();
  }

  /** The column `attnum` of relation `oid` (RowDescription's table OID and attribute number). */
  ofColumn(oid: number, attnum: number, depth = 0): Promise<Sensitive | null> {
    const key = `${oid}:${attnum}`;
    let known = this.#columns.get(key);
    if (!known) {
      known = this.#resolveColumn(oid, attnum, depth);
      this.#columns.set(key, known);
    }
    return known;
  }

  /** The first sensitive source among `sources`, or null when none is. */
  async ofSources(sources: readonly Source[], depth = 0): Promise<Sensitive | null> {
    if (depth > MAX_DEPTH) return assumed('views nested too deeply');
    const names: RelRef[] = [];
    for (const source of sources) {
      if (source.kind === 'column' || source.kind === 'row') names.push(source.rel);
      else if (source.kind === 'column-of-any') names.push(...source.rels);
    }
    await this.#catalog.loadNames(names);
    const rows = new Set(sources.flatMap((source) => (source.kind === 'row' ? [relKey(source.rel)] : [])));
    for (const source of sources) {
      // `SELECT c FROM customers c`: `c` is the row, not a column named c (the analysis offers both).
      if (source.kind === 'column-of-any' && source.rels.every((rel) => rows.has(relKey(rel)))) {
        if (
          !source.rels.some((rel) =>
            this.#catalog.cachedName(rel)?.some((r) => r.columns.some((c) => c.name === source.column)),
          )
        )
          continue;
      }
      const found = await this.#ofSource(source, depth);
      if (found) return found.derived ? found : { ...found, derived: true };
    }
    return null;
  }

  /**
   * One list of sources per output column: `star` items expanded to their relation's columns.
   * Undefined when a starred relation is unknown (the width of the result cannot be told).
   */
  async expand(result: ResultLineage): Promise<Source[][] | undefined> {
    const stars = result.outputs.flatMap((item) => (item.kind === 'star' ? [item.rel] : []));
    await this.#catalog.loadNames(stars);
    const columns: Source[][] = [];
    for (const item of result.outputs) {
      if (item.kind === 'expr') {
        columns.push(item.sources);
        continue;
      }
      const relation = this.#catalog.cachedName(item.rel)?.[0];
      if (!relation) return undefined;
      for (const column of relation.columns) {
        columns.push([
          { kind: 'column', rel: { schema: relation.schema, name: relation.name }, column: column.name },
        ]);
      }
    }
    return columns;
  }

  /** The live columns (name, type) of the relation a name denotes (the first, if several), or undefined. */
  async relationColumns(rel: RelRef): Promise<{ name: string; typeOid: number }[] | undefined> {
    await this.#catalog.loadNames([rel]);
    return this.#catalog.cachedName(rel)?.[0]?.columns;
  }

  async #resolveColumn(oid: number, attnum: number, depth: number): Promise<Sensitive | null> {
    if (depth > MAX_DEPTH) return assumed('views nested too deeply');
    await this.#catalog.loadOids([oid]);
    const relation = this.#catalog.cachedOid(oid);
    const column = relation?.columns.find((c) => c.attnum === attnum);
    if (!relation || !column) {
      return { ...assumed(`relation ${oid} column ${attnum} is not in the catalog`), unknownRelation: true };
    }
    const own = this.#rules.match({ schema: relation.schema, table: relation.name, column: column.name });
    if (own)
      return { spec: own, origin: `${relation.schema}.${relation.name}.${column.name}`, derived: false };
    if (relation.kind !== 'v' && relation.kind !== 'm') return null;
    return this.#viewColumn(relation, attnum, depth);
  }

  /** A view's column is as sensitive as what its defining query computes it from. */
  async #viewColumn(view: CatalogRelation, attnum: number, depth: number): Promise<Sensitive | null> {
    const where = `${view.schema}.${view.name}`;
    if (view.definition === undefined) return assumed(`the definition of view ${where} is unreadable`);
    const result = this.#analyze(view.definition)?.[0]?.result;
    if (!result) return assumed(`the definition of view ${where} could not be analyzed`);
    const columns = await this.expand(result);
    const sources = columns?.[attnum - 1];
    if (!sources) return assumed(`the columns of view ${where} could not be matched`);
    return this.ofSources(sources, depth + 1);
  }

  async #ofSource(source: Source, depth: number): Promise<Sensitive | null> {
    switch (source.kind) {
      case 'opaque':
        return assumed(source.reason);
      case 'column':
      case 'column-of-any': {
        const rels = source.kind === 'column' ? [source.rel] : source.rels;
        let found = false;
        for (const rel of rels) {
          for (const relation of this.#catalog.cachedName(rel) ?? []) {
            const column = relation.columns.find((c) => c.name === source.column);
            if (!column) continue;
            found = true;
            const sensitive = await this.ofColumn(relation.oid, column.attnum, depth + 1);
            if (sensitive) return sensitive;
          }
        }
        if (found) return null;
        if (rels.every((rel) => (this.#catalog.cachedName(rel) ?? []).length === 0)) {
          // Relations the catalog connection cannot see: created in the agent's open transaction.
          // Whatever they hold got there through writes the write check has vetted (a masked
          // column only under a masked name), so the name decides.
          for (const rel of rels) {
            const spec = this.#rules.match({
              schema: rel.schema ?? 'pg_temp',
              table: rel.name,
              column: source.column,
            });
            if (spec)
              return {
                spec,
                origin: `${rel.schema ?? 'pg_temp'}.${rel.name}.${source.column}`,
                derived: true,
              };
          }
          return null;
        }
        return assumed(`column ${source.column} was not found in the catalog`);
      }
      case 'row': {
        const relations = this.#catalog.cachedName(source.rel) ?? [];
        if (relations.length === 0)
          return assumed(`relation ${source.rel.name} was not found in the catalog`);
        for (const relation of relations) {
          for (const column of relation.columns) {
            const sensitive = await this.ofColumn(relation.oid, column.attnum, depth + 1);
            if (sensitive) {
              return {
                spec: { ...sensitive.spec, label: relation.name },
                origin: sensitive.origin,
                derived: true,
              };
            }
          }
        }
        return null;
      }
    }
  }
}

function relKey(rel: RelRef): string {
  return `${rel.schema ?? ''}\u0000${rel.name}`;
}

/** What a column the analysis cannot follow gets: redacted, labelled as derived. */
function assumed(reason: string): Sensitive {
  return { spec: { strategy: 'redact', label: 'derived' }, origin: `derived (${reason})`, derived: true };
}
