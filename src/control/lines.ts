import type { Socket } from 'node:net';

/** Longest line either side accepts: a snapshot of 200 statements fits easily. */
export const MAX_LINE = 4 * 1024 * 1024;

/** Calls `onLine` for each `\n`-terminated line; destroys the socket on an over-long line. */
export function readLines(socket: Socket, onLine: (line: string) => void): void {
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      onLine(line);
      if (socket.destroyed) return;
    }
    if (buffer.length > MAX_LINE) socket.destroy(new Error('control message too long'));
  });
}

/** Parses a plain (handshake) JSON line; undefined when it is not an object. */
export function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(line) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
