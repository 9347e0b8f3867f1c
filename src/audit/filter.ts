import { DurationError, parseDuration } from '../util/duration.js';
import { AUDIT_DECISIONS, AUDIT_KINDS, AuditError, type AuditRecord } from './record.js';

/** Which records `jit audit show` prints. */
export interface AuditFilter {
  /** A session id or a prefix of one (the table shows 8 characters). */
  session?: string;
  decisions?: ReadonlySet<string>;
  kinds?: ReadonlySet<string>;
  /** Records at or after this time. */
  since?: Date;
}

/** The CLI's filter options, as typed. */
export interface AuditFilterOptions {
  session?: string;
  decision?: string;
  kind?: string;
  since?: string;
}

/** Parses `--session`, `--decision a,b`, `--kind a,b`, `--since 1h|ISO`; bad values name the option. */
export function parseFilter(options: AuditFilterOptions, now: Date): AuditFilter {
  const filter: AuditFilter = {};
  if (options.session !== undefined) filter.session = options.session;
  if (options.decision !== undefined)
    filter.decisions = parseList(options.decision, AUDIT_DECISIONS, '--decision');
  if (options.kind !== undefined) filter.kinds = parseList(options.kind, AUDIT_KINDS, '--kind');
  if (options.since !== undefined) filter.since = parseTime(options.since, now, '--since');
  return filter;
}

/** True when the record passes every condition of the filter. */
export function matches(record: AuditRecord, filter: AuditFilter): boolean {
  if (filter.session !== undefined && !record.session.startsWith(filter.session)) return false;
  if (filter.decisions && !(record.decision !== undefined && filter.decisions.has(record.decision)))
    return false;
  if (filter.kinds && !filter.kinds.has(record.kind)) return false;
  if (filter.since && !(Date.parse(record.ts) >= filter.since.getTime())) return false;
  return true;
}

function parseList(text: string, allowed: readonly string[], option: string): Set<string> {
  const values = text
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  const unknown = values.filter((v) => !allowed.includes(v));
  if (values.length === 0 || unknown.length > 0) {
    throw new AuditError(
      'bad_option',
      `\`${option}\` takes a comma-separated list of ${allowed.join(', ')} (got "${text}")`,
    );
  }
  return new Set(values);
}

/** `1h`, `30m`, `2d` (that long before now) or an ISO 8601 time; errors name `option`. */
export function parseTime(text: string, now: Date, option: string): Date {
  try {
    return new Date(now.getTime() - parseDuration(text, option));
  } catch (error) {
    if (!(error instanceof DurationError)) throw error;
  }
  const at = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
  if (Number.isNaN(at)) {
    throw new AuditError(
      'bad_option',
      `\`${option}\` must be a duration like 1h or 30m, or an ISO time like 2025-01-31T09:00:00Z (got "${text}")`,
    );
  }
  return new Date(at);
}
