import { formatDuration } from '../util/duration.js';
import type { BrokerConfig, BrokerTarget, GrantRule, SubjectMatch, TrustedIssuer } from './config-types.js';
import { ApiError } from './errors.js';

/**
 * Who may have what, decided from broker.yaml alone: pure functions over the config and a verified
 * caller, so the server only maps their answers to HTTP.
 */

/** Grants shorter than this would expire before a typical tool has connected (as in jit.yaml). */
const MIN_TTL_SECONDS = 10;
const ALL_TARGETS = '*';

/** The identity a verified token proves; `claims` is the whole JWT payload. */
export interface Caller {
  iss: string;
  sub: string;
  email?: string;
  groups: string[];
  /** Short name for the temporary role's name (the issuer's `claims.name`, else derived). */
  name: string;
  claims: Record<string, unknown>;
}

/** What a grant request gets: the rule that allows it and what to issue, or why not. */
export type GrantDecision =
  | {
      ok: true;
      rule: GrantRule;
      target: BrokerTarget;
      /** The roles to grant: as requested (deduplicated, order kept), else every role of the rule. */
      roles: string[];
      ttlMs: number;
      approval: { required: boolean; groups: string[] };
    }
  | { ok: false; status: 400 | 403 | 404; error: string; message: string };

/** What a grant request asks for (the API's `roles` and `ttl_seconds`). */
export interface GrantAsk {
  target: string;
  roles?: string[];
  ttlSeconds?: number;
}

/** The Caller a verified token payload describes, reading the claims the issuer's `claims:` names. */
export function callerFromClaims(payload: Record<string, unknown>, issuer: TrustedIssuer): Caller {
  const str = (key: string): string | undefined => {
    const value = Object.hasOwn(payload, key) ? payload[key] : undefined;
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const sub = str('sub');
  // Token verification requires `sub`; without one, two callers could look like the same person.
  if (sub === undefined) throw new ApiError(401, 'token_invalid', 'the token has no `sub` claim');
  // An address the IdP says it has not verified must not satisfy an `emails:` rule.
  const email = payload.email_verified === false ? undefined : str(issuer.claims.email);
  const rawGroups = Object.hasOwn(payload, issuer.claims.groups) ? payload[issuer.claims.groups] : undefined;
  const groups = Array.isArray(rawGroups)
    ? rawGroups.filter((g): g is string => typeof g === 'string')
    : typeof rawGroups === 'string'
      ? [rawGroups]
      : [];
  const repository = str('repository');
  const name =
    str(issuer.claims.name) ??
    email?.split('@')[0] ??
    (repository !== undefined ? `ci_${repository.split('/').pop() ?? repository}` : undefined) ??
    sub;
  return {
    iss: str('iss') ?? issuer.issuer,
    sub,
    ...(email !== undefined && { email }),
    groups,
    name,
    claims: payload,
  };
}

/**
 * Whether the caller is who `match` describes: every field given must match (AND), any value
 * within a field (OR). Emails and claims may be `*` globs; a match with no field matches nobody.
 */
export function matchesSubject(match: SubjectMatch, caller: Caller): boolean {
  if (match.any === true) return true;
  const tests: boolean[] = [];
  if (match.issuers) tests.push(match.issuers.some((issuer) => sameIssuer(issuer, caller.iss)));
  if (match.groups) tests.push(match.groups.some((group) => caller.groups.includes(group)));
  if (match.emails) {
    const email = caller.email;
    tests.push(email !== undefined && match.emails.some((pattern) => globMatch(pattern, email, 'i')));
  }
  if (match.subs) tests.push(match.subs.includes(caller.sub));
  if (match.claims) {
    for (const [claim, patterns] of Object.entries(match.claims)) {
      const value = Object.hasOwn(caller.claims, claim) ? caller.claims[claim] : undefined;
      tests.push(claimMatches(value, patterns));
    }
  }
  return tests.length > 0 && tests.every(Boolean);
}

/**
 * Decides a grant request: the first rule whose `who` matches the caller, that covers the target
 * and every requested role, decides the roles, the TTL (capped by the rule and the target) and
 * whether someone must approve it.
 */
export function decideGrant(config: BrokerConfig, caller: Caller, request: GrantAsk): GrantDecision {
  const target = Object.hasOwn(config.targets, request.target) ? config.targets[request.target] : undefined;
  if (target === undefined) {
    return deny(404, 'unknown_target', `this broker has no target ${JSON.stringify(request.target)}`);
  }
  if (request.roles !== undefined && request.roles.length === 0) {
    return deny(
      400,
      'bad_roles',
      '`roles` must not be empty: leave it out to get every role the rule allows',
    );
  }
  const { ttlSeconds } = request;
  if (ttlSeconds !== undefined && !(Number.isFinite(ttlSeconds) && ttlSeconds >= MIN_TTL_SECONDS)) {
    return deny(400, 'bad_ttl', `\`ttl_seconds\` must be a number of at least ${MIN_TTL_SECONDS}`);
  }
  const wanted = request.roles === undefined ? undefined : [...new Set(request.roles)];

  const covering = config.rules.filter(
    (rule) =>
      (rule.targets.includes(ALL_TARGETS) || rule.targets.includes(target.name)) &&
      matchesSubject(rule.who, caller),
  );
  const rule = covering.find((r) => wanted === undefined || wanted.every((role) => r.roles.includes(role)));
  const who = caller.email ?? caller.sub;
  if (rule === undefined) {
    if (covering.length === 0 || wanted === undefined) {
      return deny(
        403,
        'no_rule',
        `no grant rule gives ${who} access to target ${JSON.stringify(target.name)}`,
      );
    }
    const allowed = [...new Set(covering.flatMap((r) => r.roles))];
    return deny(
      403,
      'roles_not_allowed',
      `no grant rule gives ${who} the roles ${wanted.join(', ')} on target ${JSON.stringify(target.name)}; allowed: ${allowed.join(', ')}`,
    );
  }

  const capMs = Math.min(rule.maxTtlMs, target.maxTtlMs);
  const ttlMs = ttlSeconds === undefined ? capMs : Math.round(ttlSeconds * 1000);
  if (ttlMs > capMs) {
    return deny(
      403,
      'ttl_too_long',
      `the longest grant of target ${JSON.stringify(target.name)} under rule ${JSON.stringify(rule.name)} is ${formatDuration(capMs)}; ask for ${Math.floor(capMs / 1000)} seconds or less`,
    );
  }
  return {
    ok: true,
    rule,
    target,
    roles: wanted ?? [...rule.roles],
    ttlMs,
    approval: { required: rule.approval.required, groups: [...rule.approval.groups] },
  };
}

/** Whether the caller is a broker admin (`admins:`; nobody when absent). */
export function isAdmin(config: BrokerConfig, caller: Caller): boolean {
  return matchesSubject(config.admins, caller);
}

/**
 * Whether the caller may approve a request (a grant, or a statement held under it): never the
 * requester, even an admin; otherwise a member of one of `approvalGroups`, or an admin.
 */
export function mayApprove(
  config: BrokerConfig,
  approvalGroups: string[],
  caller: Caller,
  requester: { iss: string; sub: string },
): { ok: true } | { ok: false; error: 'self_approval' | 'not_an_approver'; message: string } {
  if (caller.sub === requester.sub && sameIssuer(caller.iss, requester.iss)) {
    return { ok: false, error: 'self_approval', message: 'you cannot approve your own request' };
  }
  if (approvalGroups.some((group) => caller.groups.includes(group)) || isAdmin(config, caller)) {
    return { ok: true };
  }
  const who =
    approvalGroups.length > 0
      ? `members of ${approvalGroups.join(', ')} or a broker admin`
      : 'a broker admin';
  return { ok: false, error: 'not_an_approver', message: `only ${who} can approve this request` };
}

function deny(status: 400 | 403 | 404, error: string, message: string): GrantDecision {
  return { ok: false, status, error, message };
}

function sameIssuer(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

/** A claim value (a string, number, boolean, or a list of them) against `*` globs, case-sensitively. */
function claimMatches(value: unknown, patterns: string[]): boolean {
  const values = Array.isArray(value) ? (value as unknown[]) : [value];
  return values.some((v) => {
    const text =
      typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
    return text !== undefined && patterns.some((pattern) => globMatch(pattern, text, ''));
  });
}

/** Whether all of `text` matches `pattern`, where `*` is any run of characters (possibly none). */
function globMatch(pattern: string, text: string, flags: '' | 'i'): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, `s${flags}`).test(text);
}
