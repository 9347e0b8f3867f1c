import { type AuditFilterOptions, parseFilter, parseTime } from './filter.js';
import { AuditError } from './record.js';

/** What the broker returns when no `--limit` is given (it answers with the newest records). */
export const DEFAULT_BROKER_LIMIT = 1000;

/** `jit audit show` options that only mean something with `--broker`. */
export interface BrokerQueryOptions extends AuditFilterOptions {
  sub?: string;
  email?: string;
  target?: string;
  until?: string;
  limit?: string;
}

/** The broker-only options, as the CLI spells them (`config` and the identity ones included). */
const BROKER_ONLY: readonly [string, string][] = [
  ['sub', '--sub'],
  ['email', '--email'],
  ['target', '--target'],
  ['until', '--until'],
  ['limit', '--limit'],
  ['config', '--config'],
  ['ci', '--ci'],
  ['clientId', '--client-id'],
  ['clientSecretEnv', '--client-secret-env'],
];

/** Without `--broker`, the first broker-only option given is an error naming it. */
export function checkLocalOptions(options: object): void {
  const given = options as Record<string, unknown>;
  const found = BROKER_ONLY.find(([key]) => given[key] !== undefined);
  if (found) {
    throw new AuditError(
      'bad_option',
      `\`${found[1]}\` only works with \`--broker\` (the team broker's records)`,
      {
        hint: `add --broker, or drop ${found[1]} to read the local audit files`,
      },
    );
  }
}

/**
 * The `GET /v1/audit` query for the filters: lists as `a,b`, times as ISO 8601 (durations counted
 * back from `now`), and always a limit. Bad values name their option, as for local files.
 */
export function brokerQuery(options: BrokerQueryOptions, now: Date): Record<string, string | undefined> {
  const filter = parseFilter(options, now);
  const until = options.until === undefined ? undefined : parseTime(options.until, now, '--until');
  if (filter.since && until && until.getTime() <= filter.since.getTime()) {
    throw new AuditError('bad_option', '`--until` must be later than `--since`');
  }
  return {
    sub: options.sub,
    email: options.email,
    target: options.target,
    session: filter.session,
    decision: filter.decisions && [...filter.decisions].join(','),
    kind: filter.kinds && [...filter.kinds].join(','),
    since: filter.since?.toISOString(),
    until: until?.toISOString(),
    limit: String(parseLimit(options.limit)),
  };
}

function parseLimit(text: string | undefined): number {
  if (text === undefined) return DEFAULT_BROKER_LIMIT;
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < 1) {
    throw new AuditError('bad_option', `\`--limit\` must be a whole number from 1 (got "${text}")`);
  }
  return n;
}
