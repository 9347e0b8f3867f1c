import { describe, expect, it } from 'vitest';
import { parseBrokerConfig } from '../../src/broker/config.js';
import type { BrokerConfig, SubjectMatch, TrustedIssuer } from '../../src/broker/config-types.js';
import {
  type Caller,
  callerFromClaims,
  decideGrant,
  type GrantDecision,
  isAdmin,
  matchesSubject,
  mayApprove,
} from '../../src/broker/grant-policy.js';

const IDP = 'https://idp.example.com';
const CI = 'https://token.actions.githubusercontent.com';

function caller(overrides: Partial<Caller> = {}): Caller {
  return {
    iss: IDP,
    sub: 'u-alice',
    email: 'alice@example.com',
    groups: ['developers'],
    name: 'alice',
    claims: {},
    ...overrides,
  };
}

/** A config parsed from YAML-shaped data, so the tests exercise what a real broker.yaml yields. */
function config(rules: unknown[], extra: Record<string, unknown> = {}): BrokerConfig {
  return parseBrokerConfig(
    {
      issuers: [
        { issuer: IDP, audience: 'jit-cli' },
        { issuer: CI, audience: 'jit-broker' },
      ],
      targets: {
        prod: { upstream: 'postgres://127.0.0.1:5432/app', max_ttl: '30m' },
        staging: { upstream: 'postgres://127.0.0.1:5433/app' },
      },
      rules,
      ...extra,
    },
    'broker.yaml',
  );
}

function denied(decision: GrantDecision): Extract<GrantDecision, { ok: false }> {
  if (decision.ok) throw new Error(`expected a refusal, got rule ${decision.rule.name}`);
  return decision;
}

function granted(decision: GrantDecision): Extract<GrantDecision, { ok: true }> {
  if (!decision.ok) throw new Error(`expected a grant, got ${decision.error}: ${decision.message}`);
  return decision;
}

describe('matchesSubject', () => {
  it('matches everyone with any, and nobody with an empty match', () => {
    expect(matchesSubject({ any: true }, caller({ groups: [], email: undefined }))).toBe(true);
    expect(matchesSubject({}, caller())).toBe(false);
  });

  it('ANDs the fields given and ORs within each list', () => {
    const match: SubjectMatch = {
      groups: ['dba', 'developers'],
      emails: ['bob@example.com', 'alice@example.com'],
    };
    expect(matchesSubject(match, caller())).toBe(true);
    expect(matchesSubject(match, caller({ groups: ['sales'] }))).toBe(false);
    expect(matchesSubject(match, caller({ email: 'carol@example.com' }))).toBe(false);
    expect(matchesSubject({ subs: ['u-bob', 'u-alice'] }, caller())).toBe(true);
    expect(matchesSubject({ subs: ['u-alice'], groups: ['dba'] }, caller())).toBe(false);
  });

  it('compares issuers ignoring a trailing slash', () => {
    expect(matchesSubject({ issuers: [`${IDP}/`] }, caller())).toBe(true);
    expect(matchesSubject({ issuers: [IDP] }, caller({ iss: `${IDP}/` }))).toBe(true);
    expect(matchesSubject({ issuers: [CI] }, caller())).toBe(false);
  });

  it('matches email globs anchored and case-insensitively', () => {
    expect(matchesSubject({ emails: ['*@example.com'] }, caller({ email: 'Alice@EXAMPLE.com' }))).toBe(true);
    expect(
      matchesSubject({ emails: ['*@example.com'] }, caller({ email: 'alice@example.com.evil.io' })),
    ).toBe(false);
    expect(matchesSubject({ emails: ['*@example.com'] }, caller({ email: 'alice@examplexcom' }))).toBe(false);
    expect(matchesSubject({ emails: ['a*e@*'] }, caller())).toBe(true);
    expect(matchesSubject({ emails: ['*'] }, caller({ email: undefined }))).toBe(false);
  });

  it('matches claim globs case-sensitively, any array element, and numbers or booleans as text', () => {
    const ci = (claims: Record<string, unknown>) => caller({ iss: CI, email: undefined, groups: [], claims });
    const match: SubjectMatch = { claims: { repository: ['acme/*'], ref: ['refs/heads/main'] } };
    expect(matchesSubject(match, ci({ repository: 'acme/app', ref: 'refs/heads/main' }))).toBe(true);
    expect(matchesSubject(match, ci({ repository: 'ACME/app', ref: 'refs/heads/main' }))).toBe(false);
    expect(matchesSubject(match, ci({ repository: 'acme/app', ref: 'refs/heads/dev' }))).toBe(false);
    expect(matchesSubject(match, ci({ repository: 'acme/app' }))).toBe(false);
    expect(matchesSubject({ claims: { teams: ['ops'] } }, ci({ teams: ['dev', 'ops'] }))).toBe(true);
    expect(matchesSubject({ claims: { teams: ['ops'] } }, ci({ teams: ['dev'] }))).toBe(false);
    expect(matchesSubject({ claims: { run_attempt: ['1'] } }, ci({ run_attempt: 1 }))).toBe(true);
    expect(matchesSubject({ claims: { protected: ['true'] } }, ci({ protected: true }))).toBe(true);
    expect(matchesSubject({ claims: { obj: ['*'] } }, ci({ obj: { a: 1 } }))).toBe(false);
    expect(matchesSubject({ claims: { toString: ['*'] } }, ci({}))).toBe(false);
  });

  it('treats regex characters in globs literally', () => {
    expect(
      matchesSubject(
        { claims: { ref: ['refs/heads/v1.0'] } },
        caller({ claims: { ref: 'refs/heads/v1x0' } }),
      ),
    ).toBe(false);
    expect(
      matchesSubject({ claims: { ref: ['refs/(a|b)'] } }, caller({ claims: { ref: 'refs/(a|b)' } })),
    ).toBe(true);
  });
});

describe('decideGrant', () => {
  const rules = [
    {
      name: 'dev-read',
      who: { groups: ['developers'] },
      targets: ['prod'],
      roles: ['app_ro'],
      max_ttl: '2h',
    },
    {
      name: 'dev-write',
      who: { groups: ['developers'] },
      targets: ['*'],
      roles: ['app_rw', 'app_ro'],
      max_ttl: '10m',
      approval: { groups: ['dba'] },
    },
    { name: 'ci', who: { issuers: [CI] }, targets: ['staging'], roles: ['app_rw'] },
  ];

  it('gives the first applicable rule, with its roles and the capped ttl by default', () => {
    const decision = granted(decideGrant(config(rules), caller(), { target: 'prod' }));
    expect(decision.rule.name).toBe('dev-read');
    expect(decision.target.name).toBe('prod');
    expect(decision.roles).toEqual(['app_ro']);
    // dev-read allows 2h, but prod caps every rule at 30m.
    expect(decision.ttlMs).toBe(30 * 60_000);
    expect(decision.approval).toEqual({ required: false, groups: [] });
  });

  it('moves on to a later rule that covers the requested roles', () => {
    const decision = granted(
      decideGrant(config(rules), caller(), { target: 'prod', roles: ['app_rw', 'app_rw'] }),
    );
    expect(decision.rule.name).toBe('dev-write');
    expect(decision.roles).toEqual(['app_rw']);
    expect(decision.ttlMs).toBe(10 * 60_000);
    expect(decision.approval).toEqual({ required: true, groups: ['dba'] });
  });

  it('dedupes the requested roles keeping their order', () => {
    const decision = granted(
      decideGrant(config(rules), caller(), { target: 'staging', roles: ['app_ro', 'app_rw', 'app_ro'] }),
    );
    expect(decision.roles).toEqual(['app_ro', 'app_rw']);
  });

  it('uses the rule order, not the best fit', () => {
    const reordered = [rules[1], rules[0]];
    expect(granted(decideGrant(config(reordered), caller(), { target: 'prod' })).rule.name).toBe('dev-write');
  });

  it('honours a requested ttl up to the cap', () => {
    const decision = granted(decideGrant(config(rules), caller(), { target: 'prod', ttlSeconds: 600 }));
    expect(decision.ttlMs).toBe(600_000);
    expect(granted(decideGrant(config(rules), caller(), { target: 'prod', ttlSeconds: 1800 })).ttlMs).toBe(
      1_800_000,
    );
  });

  it('refuses an unknown target with 404, naming it', () => {
    const decision = denied(decideGrant(config(rules), caller(), { target: 'prd' }));
    expect(decision).toMatchObject({ status: 404, error: 'unknown_target' });
    expect(decision.message).toContain('"prd"');
    expect(decision.message).not.toContain('prod');
    expect(denied(decideGrant(config(rules), caller(), { target: 'constructor' })).status).toBe(404);
  });

  it('refuses with no_rule when no rule covers the caller and target', () => {
    const decision = denied(decideGrant(config(rules), caller({ groups: ['sales'] }), { target: 'prod' }));
    expect(decision).toEqual({
      ok: false,
      status: 403,
      error: 'no_rule',
      message: 'no grant rule gives alice@example.com access to target "prod"',
    });
    const ci = caller({ iss: CI, sub: 'repo:acme/app', email: undefined, groups: [] });
    expect(denied(decideGrant(config(rules), ci, { target: 'prod' })).message).toBe(
      'no grant rule gives repo:acme/app access to target "prod"',
    );
  });

  it('refuses with roles_not_allowed naming the roles the caller could have', () => {
    const decision = denied(decideGrant(config(rules), caller(), { target: 'prod', roles: ['app_admin'] }));
    expect(decision).toMatchObject({ status: 403, error: 'roles_not_allowed' });
    expect(decision.message).toContain('app_admin');
    expect(decision.message).toContain('allowed: app_ro, app_rw');
  });

  it('refuses an empty roles list with 400', () => {
    expect(denied(decideGrant(config(rules), caller(), { target: 'prod', roles: [] }))).toMatchObject({
      status: 400,
      error: 'bad_roles',
    });
  });

  it.each([0, -5, 9, 9.99, Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses ttl_seconds %s with bad_ttl',
    (ttl) => {
      expect(denied(decideGrant(config(rules), caller(), { target: 'prod', ttlSeconds: ttl }))).toMatchObject(
        {
          status: 400,
          error: 'bad_ttl',
        },
      );
    },
  );

  it('refuses a ttl above the target cap, saying the cap', () => {
    const decision = denied(decideGrant(config(rules), caller(), { target: 'prod', ttlSeconds: 1801 }));
    expect(decision).toMatchObject({ status: 403, error: 'ttl_too_long' });
    expect(decision.message).toContain('30m');
    expect(decision.message).toContain('1800 seconds');
  });

  it('refuses a ttl above the rule cap when the target allows more', () => {
    const decision = denied(
      decideGrant(config(rules), caller(), { target: 'staging', roles: ['app_rw'], ttlSeconds: 3600 }),
    );
    expect(decision).toMatchObject({ status: 403, error: 'ttl_too_long' });
    expect(decision.message).toContain('10m');
  });
});

describe('isAdmin and mayApprove', () => {
  const rules = [{ name: 'all', who: 'any', targets: ['*'], roles: ['app_ro'] }];
  const admins = { admins: { groups: ['jit-admins'] } };
  const bob = caller({ sub: 'u-bob', email: 'bob@example.com', groups: ['dba'], name: 'bob' });
  const root = caller({ sub: 'u-root', email: 'root@example.com', groups: ['jit-admins'], name: 'root' });
  const alice = { iss: IDP, sub: 'u-alice' };

  it('has no admins by default', () => {
    expect(isAdmin(config(rules), root)).toBe(false);
    expect(isAdmin(config(rules, admins), root)).toBe(true);
    expect(isAdmin(config(rules, admins), bob)).toBe(false);
  });

  it('lets a member of an approval group approve', () => {
    expect(mayApprove(config(rules), ['dba'], bob, alice)).toEqual({ ok: true });
  });

  it('lets an admin approve without being in the group', () => {
    expect(mayApprove(config(rules, admins), ['dba'], root, alice)).toEqual({ ok: true });
    expect(mayApprove(config(rules, admins), [], root, alice)).toEqual({ ok: true });
  });

  it('refuses others, saying who can approve', () => {
    const verdict = mayApprove(config(rules, admins), ['dba'], caller({ sub: 'u-carol' }), alice);
    expect(verdict).toMatchObject({ ok: false, error: 'not_an_approver' });
    expect(verdict.ok || verdict.message).toContain('dba');
    expect(mayApprove(config(rules), [], bob, alice)).toMatchObject({ ok: false, error: 'not_an_approver' });
  });

  it('never lets the requester approve, even an admin in the group (issuer slash ignored)', () => {
    const self = caller({ iss: `${IDP}/`, groups: ['dba', 'jit-admins'] });
    expect(mayApprove(config(rules, admins), ['dba'], self, alice)).toMatchObject({
      ok: false,
      error: 'self_approval',
    });
  });

  it('tells apart the same sub from another issuer', () => {
    const other = caller({ iss: CI, groups: ['dba'] });
    expect(mayApprove(config(rules), ['dba'], other, alice)).toEqual({ ok: true });
  });
});

describe('callerFromClaims', () => {
  const issuer: TrustedIssuer = {
    issuer: IDP,
    audiences: ['jit-cli'],
    claims: { email: 'email', groups: 'groups', name: 'preferred_username' },
  };

  it('maps the configured claims and keeps the whole payload', () => {
    const payload = {
      iss: IDP,
      sub: 'u-alice',
      email: 'alice@example.com',
      groups: ['developers', 7, 'dba'],
      preferred_username: 'ali',
    };
    expect(callerFromClaims(payload, issuer)).toEqual({
      iss: IDP,
      sub: 'u-alice',
      email: 'alice@example.com',
      groups: ['developers', 'dba'],
      name: 'ali',
      claims: payload,
    });
  });

  it('reads custom claim names and a single-string groups claim', () => {
    const custom = { ...issuer, claims: { email: 'mail', groups: 'roles', name: 'nick' } };
    const result = callerFromClaims(
      { iss: IDP, sub: 's', mail: 'x@example.com', roles: 'dba', nick: 'xx', email: 'no@example.com' },
      custom,
    );
    expect(result).toMatchObject({ email: 'x@example.com', groups: ['dba'], name: 'xx' });
  });

  it('derives the name from the email, a CI repository, else the sub', () => {
    expect(callerFromClaims({ iss: IDP, sub: 's', email: 'bob.smith@example.com' }, issuer).name).toBe(
      'bob.smith',
    );
    expect(
      callerFromClaims({ iss: CI, sub: 'repo:acme/app:ref:main', repository: 'acme/app' }, issuer).name,
    ).toBe('ci_app');
    expect(callerFromClaims({ iss: IDP, sub: 'svc-1' }, issuer)).toMatchObject({ name: 'svc-1', groups: [] });
  });

  it('ignores an email the IdP marks unverified', () => {
    const result = callerFromClaims(
      { iss: IDP, sub: 's', email: 'ceo@example.com', email_verified: false },
      issuer,
    );
    expect(result.email).toBeUndefined();
    expect(result.name).toBe('s');
  });

  it('refuses a payload without sub', () => {
    expect(() => callerFromClaims({ iss: IDP }, issuer)).toThrow(/no `sub` claim/);
  });
});
