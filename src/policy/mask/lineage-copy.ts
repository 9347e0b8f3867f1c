/**
 * The options of a COPY statement that shape its data stream, from the grammar's DefElem list
 * (both `WITH (FORMAT csv, HEADER)` and the old `WITH CSV HEADER DELIMITER ';'` forms parse
 * to it). https://www.postgresql.org/docs/current/sql-copy.html
 */
import { asArray, asNode } from '../walk.js';
import { parseBool } from '../where-eval.js';
import type { CopyOptions } from './types.js';

/** The COPY options in `options` (a DefElem list), with PostgreSQL's defaults filled in. */
export function copyOptions(options: unknown): CopyOptions {
  let format: CopyOptions['format'] = 'text';
  let delimiter: string | undefined;
  let nullMarker: string | undefined;
  let quote: string | undefined;
  let escape: string | undefined;
  let header = false;
  for (const raw of asArray(options)) {
    const def = asNode(raw);
    if (def?.[0] !== 'DefElem' || typeof def[1].defname !== 'string') continue;
    const arg = def[1].arg;
    switch (def[1].defname) {
      case 'format': {
        const value = argText(arg)?.toLowerCase();
        if (value === 'csv' || value === 'binary' || value === 'text') format = value;
        break;
      }
      case 'delimiter':
        delimiter = argText(arg) ?? delimiter;
        break;
      case 'null':
        nullMarker = argText(arg) ?? nullMarker;
        break;
      case 'quote':
        quote = argText(arg) ?? quote;
        break;
      case 'escape':
        escape = argText(arg) ?? escape;
        break;
      case 'header':
        header = headerValue(arg);
        break;
    }
  }
  const csv = format === 'csv';
  const q = quote ?? '"';
  return {
    format,
    delimiter: delimiter ?? (csv ? ',' : '\t'),
    null: nullMarker ?? (csv ? '' : '\\N'),
    quote: q,
    escape: escape ?? q,
    header,
  };
}

/** A DefElem argument as text: a string, a number or a boolean. */
function argText(arg: unknown): string | undefined {
  const node = asNode(arg);
  if (!node) return undefined;
  const [type, f] = node;
  switch (type) {
    case 'String':
      return typeof f.sval === 'string' ? f.sval : '';
    case 'Integer':
      return String(typeof f.ival === 'number' ? f.ival : 0);
    case 'Float':
      return typeof f.fval === 'string' ? f.fval : undefined;
    case 'Boolean':
      return f.boolval === true ? 'true' : 'false';
    default:
      return undefined;
  }
}

/** HEADER, HEADER true/false/1/0/on/off, HEADER MATCH (a header line is present). */
function headerValue(arg: unknown): boolean {
  if (arg === undefined) return true;
  const text = argText(arg);
  if (text === undefined) return true;
  if (text.toLowerCase() === 'match') return true;
  return parseBool(text) ?? false;
}
