/** The errno code (`ENOENT`, …) of a Node system error, if any. */
export function errno(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

/** `ENOSPC: no space left on device` → one short line for messages. */
export function errorText(error: unknown): string {
  const code = errno(error);
  const message = error instanceof Error ? error.message : String(error);
  if (!code) return message;
  // Node system errors read "EACCES: permission denied, open '/x'": keep the code and the words.
  const words = message.startsWith(`${code}: `) ? message.slice(code.length + 2).split(',')[0] : message;
  return `${code} (${words})`;
}
