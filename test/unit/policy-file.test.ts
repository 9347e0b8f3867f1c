import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PolicyError } from '../../src/policy/parse.js';
import { DEFAULT_POLICY, loadPolicy, parsePolicy, type Policy } from '../../src/policy/policy.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'jit-policy-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The PolicyError message `parsePolicy` throws for `text`. */
function error(text: string): string {
  try {
    parsePolicy(text, 'policy.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    const message = (e as PolicyError).message;
    expect(message).not.toContain('\n');
    expect((e as PolicyError).hint).toBeUndefined();
    return message;
  }
  throw new Error('expected a PolicyError');
}

describe('parsePolicy', () => {
  it('reads every key', () => {
    const policy = parsePolicy(
      `mode: audit-only
on_parse_error: approve
approval: { timeout: 2m30s, when_unattended: deny }
audit: { sql: raw, durability: sync }
rules:
  - { name: no-drop, match: { statements: [DROP, truncate] }, action: block }
  - name: tenant
    match:
      categories: [write]
      functions: [Set_Config]
      relations: ["public.*", orders]
      settings: [App-Tenant]
      unbounded: true
    action: approve
  - { name: everything, match: {}, action: allow }
masking:
  - { columns: ["*.email"], strategy: redact }
`,
      'policy.yaml',
    );
    expect(policy).toEqual<Policy>({
      mode: 'audit-only',
      onParseError: 'approve',
      approval: { timeoutMs: 150_000, whenUnattended: 'deny' },
      audit: { sql: 'raw', durability: 'sync' },
      rules: [
        { name: 'no-drop', match: { statements: ['drop', 'truncate'] }, action: 'block' },
        {
          name: 'tenant',
          match: {
            categories: ['write'],
            functions: ['set_config'],
            relations: ['public.*', 'orders'],
            settings: ['app_tenant'],
            unbounded: true,
          },
          action: 'approve',
        },
        { name: 'everything', match: {}, action: 'allow' },
      ],
      masking: { columns: [{ columns: ['*.email'], strategy: 'redact' }], detectors: [] },
      source: 'policy.yaml',
    });
  });

  it('reads masking entries: column globs, built-in and custom detectors, and `masking: []` for none', () => {
    const policy = parsePolicy(
      [
        'masking:',
        '  - { columns: ["public.people.ssn", "*.*email*"], strategy: hash }',
        '  - { detect: [email, { name: employee_id, pattern: "EMP-[0-9]{6}" }], strategy: null }',
        '',
      ].join('\n'),
      'p.yaml',
    );
    expect(policy.masking).toEqual({
      columns: [{ columns: ['public.people.ssn', '*.*email*'], strategy: 'hash' }],
      detectors: [
        { name: 'email', strategy: 'null' },
        { name: 'employee_id', strategy: 'null', pattern: 'EMP-[0-9]{6}' },
      ],
    });
    expect(parsePolicy('masking: []\n', 'p.yaml').masking).toEqual({ columns: [], detectors: [] });
  });

  it('fills in defaults, including the default rules when `rules` is absent', () => {
    const policy = parsePolicy('mode: enforce\n', 'p.yaml');
    expect(policy).toEqual({ ...DEFAULT_POLICY, source: 'p.yaml' });
    expect(parsePolicy('rules: []\n', 'p.yaml').rules).toEqual([]);
  });

  it('accepts audit shorthands', () => {
    expect(parsePolicy('audit: raw\n', 'p').audit).toEqual({ sql: 'raw', durability: 'async' });
    expect(parsePolicy('audit: sync\n', 'p').audit).toEqual({ sql: 'normalized', durability: 'sync' });
    expect(parsePolicy('audit: [raw, sync]\n', 'p').audit).toEqual({ sql: 'raw', durability: 'sync' });
    expect(parsePolicy('audit: { durability: sync }\n', 'p').audit).toEqual({
      sql: 'normalized',
      durability: 'sync',
    });
  });

  it.each<[string, string, string]>([
    [
      'never allows unparseable SQL',
      'on_parse_error: allow\n',
      'policy.yaml: `on_parse_error`: allow is not permitted',
    ],
    [
      'bad mode',
      'mode: audit_only\n',
      "`mode`: must be one of enforce | audit-only (got 'audit_only') (did you mean audit-only?)",
    ],
    ['unknown root key', 'rulse: []\n', '`rulse`: unknown key (did you mean rules?)'],
    [
      'unknown approval key',
      'approval: { timout: 1m }\n',
      '`approval.timout`: unknown key (did you mean timeout?)',
    ],
    [
      'bad duration',
      'approval: { timeout: 2 minutes }\n',
      '`approval.timeout`: must be a duration like 90s, 15m or 1h30m',
    ],
    [
      'numeric duration',
      'approval: { timeout: 120 }\n',
      '`approval.timeout`: must be a duration like 120s or 5m (got number 120)',
    ],
    [
      'when_unattended',
      'approval: { when_unattended: allow }\n',
      "`approval.when_unattended`: must be one of deny (got 'allow')",
    ],
    ['audit', 'audit: { sql: plain }\n', "`audit.sql`: must be one of normalized | raw (got 'plain')"],
    [
      'audit shorthand',
      'audit: [raw, fast]\n',
      "`audit[1]`: must be one of normalized | raw | async | sync (got 'fast')",
    ],
    ['rules not a list', 'rules: { a: 1 }\n', '`rules`: must be a list of rules (got a mapping)'],
    ['empty rules', 'rules:\n', '`rules`: must be a list of rules (got nothing); write `rules: []` for none'],
    ['rule not a mapping', 'rules: [drop]\n', '`rules[0]`: must be a mapping (got string "drop")'],
    ['missing name', 'rules: [{ match: {}, action: block }]\n', '`rules[0].name`: required'],
    [
      'bad name',
      'rules: [{ name: "no drop", match: {}, action: block }]\n',
      '`rules[0] (no drop).name`: may only contain',
    ],
    [
      'reserved name',
      'rules: [{ name: parse-error, match: {}, action: block }]\n',
      "'parse-error' is reserved",
    ],
    [
      'duplicate name',
      'rules:\n  - { name: a, match: {}, action: block }\n  - { name: a, match: {}, action: allow }\n',
      '`rules[1] (a).name`: duplicate rule name (also rules[0])',
    ],
    [
      'unknown rule key',
      'rules: [{ name: a, match: {}, action: block, why: x }]\n',
      '`rules[0] (a).why`: unknown key (allowed: name, match, action)',
    ],
    [
      'missing action',
      'rules: [{ name: a, match: {} }]\n',
      '`rules[0] (a).action`: required: allow | block | approve',
    ],
    [
      'bad action',
      'rules: [{ name: a, match: {}, action: deny }]\n',
      "`rules[0] (a).action`: must be one of allow | block | approve (got 'deny')",
    ],
    [
      'missing match',
      'rules: [{ name: a, action: block }]\n',
      '`rules[0] (a).match`: required (use `match: {}` to match every statement)',
    ],
    [
      'unknown match key',
      'rules: [{ name: a, match: { statement: [drop] }, action: block }]\n',
      '`rules[0] (a).match.statement`: unknown key (did you mean statements?)',
    ],
    [
      'unknown statement',
      'rules: [{ name: a, match: { statements: [dorp] }, action: block }]\n',
      "`rules[0] (a).match.statements[0]`: unknown statement 'dorp' (did you mean drop?)",
    ],
    [
      'unknown category',
      'rules: [{ name: a, match: { categories: [privilges] }, action: block }]\n',
      "`rules[0] (a).match.categories[0]`: unknown category 'privilges' (did you mean privilege?)",
    ],
    [
      'far-off category',
      'rules: [{ name: a, match: { categories: [danger] }, action: block }]\n',
      "unknown category 'danger' (categories: read, write, ddl",
    ],
    [
      'empty list',
      'rules: [{ name: a, match: { statements: [] }, action: block }]\n',
      '`rules[0] (a).match.statements`: must be a non-empty list of names',
    ],
    [
      'bad pattern',
      'rules: [{ name: a, match: { relations: ["a b"] }, action: block }]\n',
      "`rules[0] (a).match.relations[0]`: 'a b' is not a name or glob",
    ],
    [
      'unbounded not boolean',
      'rules: [{ name: a, match: { unbounded: "yes" }, action: block }]\n',
      '`rules[0] (a).match.unbounded`: must be true or false (got string "yes")',
    ],
    ['masking not a list', 'masking: { a: 1 }\n', '`masking`: must be a list (got a mapping)'],
    [
      'masking entry with both kinds',
      'masking: [{ columns: ["*.a"], detect: [email] }]\n',
      '`masking[0]`: needs exactly one of `columns:` (column globs) or `detect:` (value detectors)',
    ],
    [
      'masking strategy',
      'masking: [{ columns: ["*.a"], strategy: hide }]\n',
      '`masking[0].strategy`: must be one of redact | partial | hash | null',
    ],
    [
      'masking glob',
      'masking: [{ columns: ["email"] }]\n',
      "`masking[0].columns[0]`: 'email' must be table.column or schema.table.column",
    ],
    [
      'unknown detector',
      'masking: [{ detect: [emial] }]\n',
      "`masking[0].detect[0]`: unknown detector 'emial' (did you mean email?)",
    ],
    [
      'custom detector without a pattern',
      'masking: [{ detect: [{ name: emp }] }]\n',
      '`masking[0].detect[0].pattern`: required',
    ],
    [
      'custom detector matching nothing',
      'masking: [{ detect: [{ name: emp, pattern: "x*" }] }]\n',
      '`masking[0].detect[0]`:',
    ],
    ['not a mapping', '- a\n', 'policy.yaml: must be a mapping (got a list)'],
    ['empty file', '', 'policy.yaml: the file is empty'],
    ['YAML syntax', 'mode: [\n', 'policy.yaml:2:1:'],
    ['duplicate YAML key', 'mode: enforce\nmode: audit-only\n', 'policy.yaml:2:1: Map keys must be unique'],
  ])('rejects: %s', (_label, text, message) => {
    expect(error(text)).toContain(message);
  });
});

describe('loadPolicy', () => {
  it('returns the built-in default without a file', async () => {
    expect(await loadPolicy()).toBe(DEFAULT_POLICY);
    expect(DEFAULT_POLICY.source).toBe('built-in default');
  });

  it('reads a file and names it as the source', async () => {
    const file = path.join(dir, 'policy.yaml');
    await writeFile(file, 'mode: audit-only\n');
    const policy = await loadPolicy(file);
    expect(policy.mode).toBe('audit-only');
    expect(policy.source).toBe(file);
  });

  it('fails with one line naming a missing file', async () => {
    const file = path.join(dir, 'nope.yaml');
    await expect(loadPolicy(file)).rejects.toThrow(`cannot read policy file ${file}: no such file`);
    await expect(loadPolicy(dir)).rejects.toThrow('it is a directory');
  });
});

describe('DEFAULT_POLICY', () => {
  it('has the documented rules, block rules before approval rules', () => {
    expect(DEFAULT_POLICY.rules.map((r) => `${r.name}:${r.action}`)).toEqual([
      'temp-cleanup:allow',
      'no-drop:block',
      'server-admin:block',
      'privileges:block',
      'server-side-io:block',
      'server-side-copy:block',
      'unbounded-write:approve',
      'ddl:approve',
      'procedural:approve',
    ]);
    expect(DEFAULT_POLICY).toMatchObject({
      mode: 'enforce',
      onParseError: 'block',
      approval: { timeoutMs: 120_000, whenUnattended: 'deny' },
      audit: { sql: 'normalized', durability: 'async' },
    });
    expect(DEFAULT_POLICY.masking.columns).toEqual([
      {
        columns: [
          '*.email',
          '*.*email*',
          '*.ssn',
          '*.*phone*',
          '*.*card*',
          '*.password*',
          '*.*token*',
          '*.*secret*',
        ],
        strategy: 'partial',
      },
    ]);
    expect(DEFAULT_POLICY.masking.detectors.map((d) => `${d.name}:${d.strategy}`)).toEqual([
      'email:redact',
      'credit_card:redact',
      'us_ssn:redact',
      'phone:redact',
      'jwt:redact',
      'aws_key:redact',
    ]);
  });

  it('round-trips through the validator (so every name in it is valid)', () => {
    const yaml = `rules:\n${DEFAULT_POLICY.rules
      .map((r) => `  - ${JSON.stringify({ name: r.name, match: r.match, action: r.action })}`)
      .join('\n')}\n`;
    expect(parsePolicy(yaml, 'p').rules).toEqual(DEFAULT_POLICY.rules);
  });
});
