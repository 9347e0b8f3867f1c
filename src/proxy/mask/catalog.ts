import pg from 'pg';
import type { RelRef } from '../../policy/mask/types.js';
import { JitError } from '../../util/errors.js';

/** A column of a relation, as pg_attribute has it. */
export interface CatalogColumn {
  attnum: number;
  name: string;
  typeOid: number;
}

/** A relation (table, view, materialized view, …) with its live columns in attnum order. */
export interface CatalogRelation {
  oid: number;
  schema: string;
  name: string;
  /** pg_class.relkind: r table, v view, m materialized view, p partitioned, f foreign, … */
  kind: string;
  columns: CatalogColumn[];
  /** For views and materialized views: `pg_get_viewdef`, the query that defines their columns. */
  definition?: string;
}

/** The catalog could not be read (connection refused, grant revoked, …): masking fails closed. */
export class CatalogError extends JitError {}

/** Runs one parameterized query (a `pg` client in production; a stub in unit tests). */
export type CatalogQuery = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

const RELATION_SQL = `
SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS definition,
       coalesce((SELECT json_agg(json_build_object('attnum', a.attnum, 'name', a.attname, 'type', a.atttypid::int8)
                                 ORDER BY a.attnum)
                   FROM pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace`;

/**
 * The upstream catalog as masking needs it: relations by OID (RowDescription names a column by
 * table OID + attribute number) and by name (the lineage of computed columns names relations as
 * the SQL wrote them). Cached for the session; `invalidate()` after DDL. Unqualified names are
 * looked up in every schema (the agent's search_path is not known here): a name that exists in
 * several schemas yields all of them, so masking errs towards masking.
 */
export class Catalog {
  readonly #query: CatalogQuery;
  #byOid = new Map<number, CatalogRelation | null>();
  #byName = new Map<string, CatalogRelation[]>();

  constructor(query: CatalogQuery) {
    this.#query = query;
  }

  /** Forgets everything (after DDL: a renamed column must not keep its old name's masking). */
  invalidate(): void {
    this.#byOid = new Map();
    this.#byName = new Map();
  }

  /** The cached relation for an OID: a relation, null (no such relation), or undefined (not looked up yet). */
  cachedOid(oid: number): CatalogRelation | null | undefined {
    return this.#byOid.get(oid);
  }

  /** The cached relations a name may denote, or undefined when not looked up yet. */
  cachedName(ref: RelRef): CatalogRelation[] | undefined {
    return this.#byName.get(nameKey(ref));
  }

  /** Looks up the OIDs not cached yet, in one query. */
  async loadOids(oids: Iterable<number>): Promise<void> {
    const missing = [...new Set(oids)].filter((oid) => !this.#byOid.has(oid));
    if (missing.length === 0) return;
    const rows = await this.#run(`${RELATION_SQL} WHERE c.oid = ANY($1::oid[])`, [missing]);
    const byOid = this.#byOid;
    for (const oid of missing) byOid.set(oid, null);
    for (const row of rows) {
      const relation = toRelation(row);
      byOid.set(relation.oid, relation);
    }
  }

  /** Looks up the names not cached yet, in one query. */
  async loadNames(refs: Iterable<RelRef>): Promise<void> {
    const missing = new Map<string, RelRef>();
    for (const ref of refs) {
      const key = nameKey(ref);
      if (!this.#byName.has(key)) missing.set(key, ref);
    }
    if (missing.size === 0) return;
    const names = [...missing.values()];
    const rows = await this.#run(
      `${RELATION_SQL} WHERE c.relname = ANY($1::text[]) AND c.relkind IN ('r','v','m','p','f')`,
      [[...new Set(names.map((ref) => ref.name))]],
    );
    const byName = this.#byName;
    for (const [key, ref] of missing) {
      byName.set(
        key,
        rows
          .map(toRelation)
          .filter(
            (relation) =>
              relation.name === ref.name && (ref.schema === undefined || relation.schema === ref.schema),
          )
          .sort((a, b) => a.oid - b.oid),
      );
    }
    for (const row of rows) {
      const relation = toRelation(row);
      if (!this.#byOid.has(relation.oid)) this.#byOid.set(relation.oid, relation);
    }
  }

  async #run(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
    try {
      return await this.#query(sql, params);
    } catch (error) {
      throw new CatalogError(
        'catalog_unavailable',
        `cannot read the catalog for masking: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
  }
}

/** A query function over one lazily opened `pg` connection; `close()` ends it. */
export function pgCatalogQuery(config: pg.ClientConfig): { query: CatalogQuery; close: () => Promise<void> } {
  let client: Promise<pg.Client> | undefined;
  let closed = false;
  const open = (): Promise<pg.Client> => {
    client ??= (async () => {
      const created = new pg.Client({ ...config, application_name: 'jit masking catalog' });
      created.on('error', () => {
        client = undefined; // reconnect on the next lookup
      });
      created.on('end', () => {
        client = undefined;
      });
      try {
        await created.connect();
      } catch (error) {
        client = undefined;
        throw error;
      }
      return created;
    })();
    return client;
  };
  return {
    query: async (sql, params) => {
      if (closed) throw new Error('the session has ended');
      const connected = await open();
      const result = await connected.query(sql, params);
      return result.rows as Record<string, unknown>[];
    },
    close: async () => {
      closed = true;
      const pending = client;
      client = undefined;
      if (pending) await (await pending.catch(() => undefined))?.end().catch(() => {});
    },
  };
}

function nameKey(ref: RelRef): string {
  return ref.schema === undefined ? `\u0000${ref.name}` : `${ref.schema}\u0000${ref.name}`;
}

function toRelation(row: Record<string, unknown>): CatalogRelation {
  const columns = (typeof row.columns === 'string' ? JSON.parse(row.columns) : row.columns) as {
    attnum: number;
    name: string;
    type: number | string;
  }[];
  return {
    oid: Number(row.oid),
    schema: String(row.schema),
    name: String(row.name),
    kind: String(row.kind),
    columns: columns.map((column) => ({
      attnum: Number(column.attnum),
      name: column.name,
      typeOid: Number(column.type),
    })),
    ...(typeof row.definition === 'string' ? { definition: row.definition } : {}),
  };
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
