import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { parseDuration } from '../util/duration.js';
import { JitError } from '../util/errors.js';

/**
 * The validators every config file shares (jit.yaml in schema.ts, broker.yaml in broker/config.ts):
 * each throws a ConfigError naming the file and the key path, e.g. `jit.yaml: targets.prod.tls: …`.
 */

/** Any problem finding, reading, validating or applying jit's configuration. */
export class ConfigError extends JitError {}

/** Where a validator is: how errors name the file, and the directory relative paths start from. */
export interface Ctx {
  label: string;
  baseDir: string;
}

/** Hosts that are this machine, as written in a config file (plaintext to them is acceptable). */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '::1']);
/** A single DNS name or IPv4 address (no ports, lists or unix sockets). */
export const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;
/** A portable environment variable name. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Bounds alias expansion ("billion laughs") in a hostile or broken file. */
const MAX_ALIAS_COUNT = 100;

/** Parses YAML text into plain values; syntax errors are ConfigErrors carrying `label:line:col`. */
export function parseYaml(text: string, label: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const [first] = doc.errors;
  if (first) {
    const { line, col } = lineCounter.linePos(first.pos[0]);
    const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more)` : '';
    throw new ConfigError('yaml_syntax', `${label}:${line}:${col}: ${first.message}${more}`, {
      hint: 'fix the YAML syntax at that position',
    });
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // Unresolved aliases and alias bombs surface here rather than in doc.errors.
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError('yaml_syntax', `${label}: ${reason}`, { cause: error });
  }
}

/** Throws the ConfigError `<file>: <keyPath>: <message>`. */
export function fail(ctx: Ctx, keyPath: string, message: string, options: { hint?: string } = {}): never {
  const where = keyPath === '' ? ctx.label : `${ctx.label}: ${keyPath}`;
  throw new ConfigError('invalid_config', `${where}: ${message}`, options);
}

/** `parent.key`, quoting a key that is not a plain word (`targets."my db"`). */
export function joinKey(parent: string, key: string): string {
  const part = /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
  return parent === '' ? part : `${parent}.${part}`;
}

/** The value as a mapping (a plain object), else an error saying what was expected. */
export function mapping(
  ctx: Ctx,
  keyPath: string,
  raw: unknown,
  expected = 'a mapping',
): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    fail(ctx, keyPath, `expected ${expected} (got ${describe(raw)})`);
  }
  return raw as Record<string, unknown>;
}

/** Rejects the first key not in `allowed`, suggesting the closest one (a typo must never be ignored). */
export function checkKeys(
  ctx: Ctx,
  keyPath: string,
  obj: Record<string, unknown>,
  allowed: readonly string[],
): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue;
    const close = suggestion(key, allowed);
    fail(ctx, joinKey(keyPath, key), `unknown key${close || `; expected one of: ${allowed.join(', ')}`}`);
  }
}

/** The value as a string. */
export function string(ctx: Ctx, keyPath: string, raw: unknown): string {
  if (typeof raw !== 'string') fail(ctx, keyPath, `expected a string (got ${describe(raw)})`);
  return raw;
}

/** The value as a string with something other than whitespace in it. */
export function nonEmptyString(ctx: Ctx, keyPath: string, raw: unknown): string {
  const value = string(ctx, keyPath, raw);
  if (value.trim() === '') fail(ctx, keyPath, 'must not be empty');
  return value;
}

/** The value as one of `allowed`, suggesting the closest on a typo. */
export function oneOf<T extends string>(ctx: Ctx, keyPath: string, raw: unknown, allowed: readonly T[]): T {
  if (typeof raw === 'string' && (allowed as readonly string[]).includes(raw)) return raw as T;
  const close = typeof raw === 'string' ? suggestion(raw, allowed) : '';
  return fail(ctx, keyPath, `must be one of ${allowed.join(' | ')} (got ${describe(raw)})${close}`);
}

/** The value as a boolean (YAML `true`/`false`). */
export function boolean(ctx: Ctx, keyPath: string, raw: unknown): boolean {
  if (typeof raw !== 'boolean') fail(ctx, keyPath, `must be true or false (got ${describe(raw)})`);
  return raw;
}

/** The value as an integer from `min` to `max`. */
export function integer(ctx: Ctx, keyPath: string, raw: unknown, min: number, max: number): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min || raw > max) {
    fail(ctx, keyPath, `must be an integer from ${min} to ${max}`);
  }
  return raw;
}

/** A duration like `90s`, `15m` or `1h30m`, in milliseconds. */
export function duration(ctx: Ctx, keyPath: string, raw: unknown): number {
  if (typeof raw === 'string') {
    try {
      return parseDuration(raw);
    } catch {
      // fall through to the message below, which names the key
    }
  }
  return fail(ctx, keyPath, `must be a duration like 90s, 15m or 1h30m (got ${describe(raw)})`);
}

/** An https URL, or plain http only to this machine (a local IdP or broker during development). */
export function httpUrl(ctx: Ctx, keyPath: string, raw: unknown): string {
  const written = nonEmptyString(ctx, keyPath, raw);
  let url: URL;
  try {
    url = new URL(written);
  } catch {
    return fail(ctx, keyPath, 'not a valid URL');
  }
  const local = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    fail(ctx, keyPath, 'must be an https:// URL (http:// only for 127.0.0.1 or localhost)');
  }
  if (url.username !== '' || url.password !== '') fail(ctx, keyPath, 'must not contain credentials');
  if (url.search !== '' || url.hash !== '') fail(ctx, keyPath, 'must not have a query or fragment');
  return written;
}

/** A path made absolute against the config file's directory. */
export function resolvePath(ctx: Ctx, p: string): string {
  return path.resolve(ctx.baseDir, p);
}

/** A short, safe description of a value for messages (long strings cut, mappings never echoed). */
export function describe(raw: unknown): string {
  if (raw === null || raw === undefined) return 'nothing';
  if (Array.isArray(raw)) return 'a list';
  if (typeof raw === 'object') return 'a mapping';
  if (typeof raw === 'string') return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
  return String(raw);
}

/** ` (did you mean X?)` when `input` is a likely typo of one of `candidates`, else ''. */
export function suggestion(input: string, candidates: readonly string[]): string {
  const norm = (s: string): string => s.toLowerCase().replace(/[-_]/g, '');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d =
      norm(input) === norm(candidate) ? 0 : editDistance(input.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  const limit = Math.min(2, Math.floor(input.length / 3));
  return best !== undefined && bestDistance <= limit && best !== input ? ` (did you mean ${best}?)` : '';
}

/** Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, at(i - 2, j - 2) + 1);
      row[j] = d;
    }
  }
  return at(a.length, b.length);
}
