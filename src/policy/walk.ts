import { UNWRAPPED_FIELDS } from './node-fields.js';

/** A node's fields as libpg-query's JSON gives them. */
export type AstNode = Record<string, unknown>;

/** Called for every node: its type, its fields, and the type and field it hangs from. */
export type NodeVisitor = (
  type: string,
  node: AstNode,
  parentType: string | undefined,
  field: string | undefined,
) => void;

/** True for a plain (non-array) object. */
export function isObject(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `value` when it is an array, else an empty one (libpg-query omits empty lists). */
export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/**
 * The node type of `value` when it is a wrapped node (`{ SelectStmt: {…} }`): an object with
 * a single capitalised key. Field names in libpg-query's JSON are never capitalised.
 */
export function wrappedType(value: AstNode): string | undefined {
  let only: string | undefined;
  for (const key in value) {
    if (only !== undefined) return undefined;
    only = key;
  }
  if (only === undefined) return undefined;
  const first = only.charCodeAt(0);
  return first >= 65 && first <= 90 ? only : undefined;
}

/** The type of the node found in `parentType.field` when it is written without a wrapper. */
export function unwrappedType(parentType: string | undefined, field: string | undefined): string | undefined {
  return parentType === undefined || field === undefined
    ? undefined
    : UNWRAPPED_FIELDS[`${parentType}.${field}`];
}

/** Unwraps `{ Type: fields }` into `[Type, fields]`, or undefined for anything else. */
export function asNode(value: unknown): [string, AstNode] | undefined {
  if (!isObject(value)) return undefined;
  const type = wrappedType(value);
  if (type === undefined) return undefined;
  const inner = value[type];
  return isObject(inner) ? [type, inner] : undefined;
}

/**
 * Calls `visit` for every node under `value`, whatever field it sits in: wrapped nodes,
 * unwrapped ones (via UNWRAPPED_FIELDS), and — so that nothing can hide in a field this code
 * does not know — any other object is descended into too. `visit` descends into a node's
 * children by calling `walkChildren` itself, so a visitor owns the traversal of each subtree.
 */
export function walkValue(
  value: unknown,
  parentType: string | undefined,
  field: string | undefined,
  visit: NodeVisitor,
): void {
  if (Array.isArray(value)) {
    for (const item of value) walkValue(item, parentType, field, visit);
    return;
  }
  if (!isObject(value)) return;
  const typed = unwrappedType(parentType, field);
  if (typed !== undefined) {
    visit(typed, value, parentType, field);
    return;
  }
  const type = wrappedType(value);
  if (type !== undefined) {
    const inner = value[type];
    if (isObject(inner)) visit(type, inner, parentType, field);
    else walkValue(inner, type, undefined, visit);
    return;
  }
  // An object of unknown shape: walk its fields without a parent type.
  for (const key in value) walkValue(value[key], undefined, key, visit);
}

/** Walks every field of a node (the usual second half of a visitor). */
export function walkChildren(type: string, node: AstNode, visit: NodeVisitor): void {
  for (const key in node) walkValue(node[key], type, key, visit);
}

/** Calls `visit` for `value` and every node below it, in pre-order. */
export function walkAll(value: unknown, visit: NodeVisitor, parentType?: string, field?: string): void {
  const recurse: NodeVisitor = (type, node, parent, name) => {
    visit(type, node, parent, name);
    walkChildren(type, node, recurse);
  };
  walkValue(value, parentType, field, recurse);
}

/** The smallest `location` (a UTF-8 byte offset) anywhere under `value`, or undefined. */
export function minLocation(value: unknown): number | undefined {
  let min: number | undefined;
  const scan = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const item of v) scan(item);
      return;
    }
    if (!isObject(v)) return;
    for (const key in v) {
      const child = v[key];
      if (key === 'location' && typeof child === 'number') {
        if (child >= 0 && (min === undefined || child < min)) min = child;
      } else if (typeof child === 'object') scan(child);
    }
  };
  scan(value);
  return min;
}

/** The names in a `[{ String: { sval } }, …]` list (funcname, names, fields), in order. */
export function stringList(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const names: string[] = [];
  for (const item of value) {
    const node = asNode(item);
    if (node && node[0] === 'String') names.push(typeof node[1].sval === 'string' ? node[1].sval : '');
  }
  return names;
}
