/**
 * Name scopes of the lineage analysis: what a FROM item offers as columns, and how a column
 * reference resolves against the FROM items of its query and of the queries around it,
 * following PostgreSQL's rules (nearest query level first) where they can be decided without
 * the catalog, and conservatively where they cannot. Pure data; no I/O.
 */
import type { RelRef, Source } from './types.js';

/** One item of a query's output, as the analysis tracks it (a superset of the public OutputItem). */
export type Item =
  | { kind: 'expr'; name: string; sources: Source[] }
  | { kind: 'star'; rel: RelRef }
  /** Columns whose number and names are unknown, each derived from `sources`. */
  | { kind: 'rest'; sources: Source[] };

/** The columns of something that can sit in FROM (a relation, subquery, CTE or function). */
export interface Shape {
  /** Its columns in the order `*` expands them. */
  items: Item[];
  /** Columns beyond `items` may exist (a function of unknown result type), each derived from these. */
  open?: Source[];
}

/** A FROM item visible to column references. */
export interface Entry extends Shape {
  /** The name it is referred to by (alias, relation or CTE name); undefined when it has none. */
  refname: string | undefined;
  /** The schema an unaliased relation was qualified with. */
  schema?: string;
}

/** The FROM items of one query level, and the level around it (for correlated references). */
export interface Level {
  entries: Entry[];
  parent: Level | undefined;
}

/** CTE names in scope, innermost WITH first. */
export interface Ctes {
  defs: Map<string, Shape>;
  parent: Ctes | undefined;
}

/** Where an expression or query is analysed. */
export interface Ctx {
  level: Level | undefined;
  ctes: Ctes | undefined;
  /** Nesting depth so far, bounded by MAX_DEPTH. */
  depth: number;
}

/** How deep the analysis follows nested nodes before it gives up on a subtree (fail closed). */
export const MAX_DEPTH = 300;

/** A source that cannot be followed: treated as sensitive. */
export function opaque(reason: string): Source {
  return { kind: 'opaque', reason };
}

/** A stable key for a relation, for de-duplication. */
export function relKey(rel: RelRef): string {
  return rel.schema === undefined ? rel.name : `${rel.schema}\u0000${rel.name}`;
}

function sourceKey(source: Source): string {
  switch (source.kind) {
    case 'column':
      return `c\u0001${relKey(source.rel)}\u0001${source.column}`;
    case 'column-of-any':
      return `a\u0001${source.rels.map(relKey).join('\u0002')}\u0001${source.column}`;
    case 'row':
      return `r\u0001${relKey(source.rel)}`;
    case 'opaque':
      return `o\u0001${source.reason}`;
  }
}

/** An insertion-ordered set of sources. */
export class SourceList {
  /** The sources, in the order first added. */
  readonly items: Source[] = [];
  readonly #keys = new Set<string>();

  /** Adds one source unless already present. */
  add(source: Source): void {
    const key = sourceKey(source);
    if (this.#keys.has(key)) return;
    this.#keys.add(key);
    this.items.push(source);
  }

  /** Adds every source of `sources`. */
  addAll(sources: readonly Source[]): void {
    for (const source of sources) this.add(source);
  }
}

/** The union of source lists, de-duplicated, in order. */
export function unionSources(...lists: readonly (readonly Source[])[]): Source[] {
  const out = new SourceList();
  for (const list of lists) out.addAll(list);
  return out.items;
}

/** Everything a list of items derives from: expr sources, a whole row per `star`, `rest` sources. */
export function itemSources(items: readonly Item[]): Source[] {
  const out = new SourceList();
  for (const item of items) {
    if (item.kind === 'star') out.add({ kind: 'row', rel: item.rel });
    else out.addAll(item.sources);
  }
  return out.items;
}

/** What a whole-row reference to a FROM item derives from. */
export function rowSources(shape: Shape): Source[] {
  const sources = itemSources(shape.items);
  return shape.open ? unionSources(sources, shape.open) : sources;
}

/** The shape of a CTE named `name` in scope, if any. */
export function findCte(ctes: Ctes | undefined, name: string): Shape | undefined {
  for (let scope = ctes; scope; scope = scope.parent) {
    const shape = scope.defs.get(name);
    if (shape) return shape;
  }
  return undefined;
}

/** The FROM item a qualifier names, searching the nearest query level first. */
export function findEntry(level: Level | undefined, name: string, schema?: string): Entry | undefined {
  for (let scope = level; scope; scope = scope.parent) {
    for (const entry of scope.entries) {
      if (entry.refname !== name) continue;
      if (schema === undefined || entry.schema === undefined || entry.schema === schema) return entry;
    }
  }
  return undefined;
}

/** Sources of a column taken from relations whose columns are unknown: `column` for one, else `column-of-any`. */
function relColumn(rels: readonly RelRef[], column: string, forceAny: boolean): Source[] {
  if (rels.length === 0) return [];
  if (rels.length === 1 && !forceAny) {
    const [rel] = rels as [RelRef];
    return [{ kind: 'column', rel, column }];
  }
  return [{ kind: 'column-of-any', rels: [...rels], column }];
}

/** Collects the relations of `star` items without duplicates. */
class RelSet {
  readonly rels: RelRef[] = [];
  readonly #keys = new Set<string>();
  add(rel: RelRef): void {
    const key = relKey(rel);
    if (this.#keys.has(key)) return;
    this.#keys.add(key);
    this.rels.push(rel);
  }
}

/** The sources of column `column` of one FROM item (`t.column`). */
export function entryColumn(shape: Shape, column: string, refname: string | undefined): Source[] {
  const out = new SourceList();
  const rels = new RelSet();
  let other = false;
  for (const item of shape.items) {
    if (item.kind === 'star') rels.add(item.rel);
    else if (item.kind === 'rest' || item.name === column) {
      out.addAll(item.sources);
      other = true;
    }
  }
  if (shape.open) {
    out.addAll(shape.open);
    other = true;
  }
  if (!other && rels.rels.length === 0) return [opaque(`no column "${column}" in "${refname ?? '?'}"`)];
  return unionSources(relColumn(rels.rels, column, other), out.items);
}

/** The sources of an unqualified name (or, with `wholeRow`, the FROM item so named), nearest query level first. */
// A column some FROM item certainly has (a subquery, CTE or function column) ends the search at its
// level; relations of unknown columns at that level or nearer may have it too. PostgreSQL prefers a
// column over a FROM item of the same name, so a whole-row match reports both. With `field`, a
// whole-row match yields that column of the item instead (`(c).email`).
export function resolveName(
  level: Level | undefined,
  name: string,
  wholeRow: boolean,
  field?: string,
): Source[] {
  const rels = new RelSet();
  const extra = new SourceList();
  let possible = false;
  let other = false;
  for (let scope = level; scope; scope = scope.parent) {
    let certain: SourceList | undefined;
    const levelRels: RelRef[] = [];
    const levelExtra: Source[] = [];
    let levelUnknown = false;
    for (const entry of scope.entries) {
      for (const item of entry.items) {
        if (item.kind === 'star') levelRels.push(item.rel);
        else if (item.kind === 'rest') {
          levelExtra.push(...item.sources);
          levelUnknown = true;
        } else if (item.name === name) {
          certain ??= new SourceList();
          certain.addAll(item.sources);
        }
      }
      if (entry.open) {
        levelExtra.push(...entry.open);
        levelUnknown = true;
      }
    }
    if (certain) return unionSources(relColumn(rels.rels, name, true), extra.items, certain.items);
    for (const rel of levelRels) rels.add(rel);
    extra.addAll(levelExtra);
    if (levelUnknown || levelRels.length > 0) {
      // Several levels that could supply the name, or columns of unknown names: not a sure `column`.
      if (possible || levelUnknown) other = true;
      possible = true;
    }
    if (wholeRow) {
      const entry = scope.entries.find((e) => e.refname === name);
      if (entry) {
        const row = field === undefined ? rowSources(entry) : entryColumn(entry, field, entry.refname);
        return unionSources(relColumn(rels.rels, name, true), extra.items, row);
      }
    }
  }
  if (!possible) return [opaque(`column "${name}" is not in scope`)];
  return unionSources(relColumn(rels.rels, name, other || rels.rels.length > 1), extra.items);
}

/** Renames the first columns of a shape (`AS alias(a, b)`); names beyond a `star` make every lookup possibly any column. */
export function renameShape(shape: Shape, colnames: readonly string[]): Shape {
  if (colnames.length === 0) return shape;
  const items: Item[] = [];
  let index = 0;
  let blocked = false;
  const unplaced = new SourceList();
  for (const item of shape.items) {
    if (item.kind !== 'expr') blocked = true;
    if (blocked && index < colnames.length) {
      unplaced.addAll(itemSources([item]));
    }
    if (!blocked && item.kind === 'expr' && index < colnames.length) {
      items.push({ ...item, name: colnames[index] ?? item.name });
      index++;
    } else items.push(item);
  }
  if (unplaced.items.length === 0) return shape.open ? { items, open: shape.open } : { items };
  return { items, open: unionSources(shape.open ?? [], unplaced.items) };
}
