import { ProtocolError } from '../protocol-error.js';

/**
 * Decoders for the client messages the statement guard reads
 * (https://www.postgresql.org/docs/current/protocol-message-formats.html). Each takes the whole
 * message including its 5-byte header.
 */

function cstringAt(message: Buffer, offset: number, what: string): [string, number] {
  const end = message.indexOf(0, offset);
  if (end < 0 || end >= message.length) throw new ProtocolError('bad_message', `malformed ${what} message`);
  return [message.toString('utf8', offset, end), end + 1];
}

/** Query ('Q'): the SQL text. */
export function parseQuery(message: Buffer): string {
  return cstringAt(message, 5, 'Query')[0];
}

/** Parse ('P'): statement name and SQL text. */
export function parseParse(message: Buffer): { name: string; sql: string } {
  const [name, next] = cstringAt(message, 5, 'Parse');
  const [sql] = cstringAt(message, next, 'Parse');
  return { name, sql };
}

/** Bind ('B'): destination portal and source statement names. */
export function parseBind(message: Buffer): { portal: string; statement: string } {
  const [portal, next] = cstringAt(message, 5, 'Bind');
  const [statement] = cstringAt(message, next, 'Bind');
  return { portal, statement };
}

/** Execute ('E'): the portal name. */
export function parseExecute(message: Buffer): { portal: string } {
  return { portal: cstringAt(message, 5, 'Execute')[0] };
}

/** Close ('C') and Describe ('D'): 'S' (statement) or 'P' (portal) and the name. */
export function parseTarget(message: Buffer): { kind: 'S' | 'P'; name: string } {
  const kind = String.fromCharCode(message[5] ?? 0);
  if (kind !== 'S' && kind !== 'P')
    throw new ProtocolError('bad_message', 'malformed Close/Describe message');
  return { kind, name: cstringAt(message, 6, 'Close/Describe')[0] };
}

/** Rows reported by a CommandComplete tag ('SELECT 5', 'INSERT 0 5', 'COPY 10'); undefined when none. */
export function commandRows(message: Buffer): number | undefined {
  const end = message.indexOf(0, 5);
  const tag = message.toString('latin1', 5, end < 0 ? message.length : end);
  const space = tag.lastIndexOf(' ');
  if (space < 0) return undefined;
  const rows = Number(tag.slice(space + 1));
  return Number.isInteger(rows) ? rows : undefined;
}

/**
 * Bind ('B'): the result-column format codes — empty (all text), one (all the same) or one per
 * column (https://www.postgresql.org/docs/current/protocol-message-formats.html#PROTOCOL-MESSAGE-FORMATS-BIND).
 */
export function parseBindResultFormats(message: Buffer): number[] {
  let offset = message.indexOf(0, 5) + 1;
  offset = message.indexOf(0, offset) + 1;
  if (offset <= 0) throw new ProtocolError('bad_message', 'malformed Bind message');
  const need = (bytes: number): void => {
    if (offset + bytes > message.length) throw new ProtocolError('bad_message', 'malformed Bind message');
  };
  need(2);
  const paramFormats = message.readInt16BE(offset);
  offset += 2 + 2 * paramFormats;
  need(2);
  const params = message.readInt16BE(offset);
  offset += 2;
  for (let i = 0; i < params; i++) {
    need(4);
    const length = message.readInt32BE(offset);
    offset += 4 + Math.max(0, length);
  }
  need(2);
  const count = message.readInt16BE(offset);
  offset += 2;
  need(2 * Math.max(0, count));
  const formats: number[] = [];
  for (let i = 0; i < count; i++) formats.push(message.readInt16BE(offset + 2 * i));
  return formats;
}
