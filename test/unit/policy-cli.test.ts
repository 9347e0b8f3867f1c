import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCommand, testCommand } from '../../src/handlers/policy.js';
import { JIT_BIN } from '../helpers/jit.js';

let dir: string;
let good: string;
let bad: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'jit-policy-cli-'));
  good = path.join(dir, 'good.yaml');
  bad = path.join(dir, 'bad.yaml');
  await writeFile(
    good,
    'mode: audit-only\nrules:\n  - { name: no-orders, match: { relations: [orders] }, action: block }\n',
  );
  await writeFile(bad, 'rules:\n  - { name: x, match: { statements: [dorp] }, action: block }\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function capture(): { write(text: string): void; text: () => string } {
  let out = '';
  return { write: (t: string) => void (out += t), text: () => out };
}

describe('policy handlers', () => {
  it('check prints the rule count, the mode and the masking', async () => {
    const out = capture();
    expect(await checkCommand(good, out)).toBe(0);
    expect(out.text()).toBe('ok: 1 rule, mode audit-only, masking 8 column globs, 6 detectors\n');
    const def = capture();
    await checkCommand('default', def);
    expect(def.text()).toBe('ok: 9 rules, mode enforce, masking 8 column globs, 6 detectors\n');
    const off = path.join(dir, 'off.yaml');
    await writeFile(off, 'masking: []\n');
    const none = capture();
    await checkCommand(off, none);
    expect(none.text()).toBe('ok: 9 rules, mode enforce, masking off\n');
  });

  it('test prints the decision, the rule, the reason and the statements', async () => {
    const out = capture();
    await testCommand(
      'default',
      { sql: 'SELECT 1; WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d' },
      out,
    );
    expect(out.text()).toBe(
      [
        'decision: approve',
        'rule:     unbounded-write',
        'reason:   DELETE without a WHERE clause (inside another statement) needs approval (rule unbounded-write)',
        'statements:',
        '  1. select [read] SELECT 1',
        '  2. select [read] WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d',
        '     relations: d, t',
        '     3. delete [write, unbounded, nested] DELETE FROM t RETURNING *',
        '        relations: t',
        '',
      ].join('\n'),
    );
  });

  it('test --json gives the decision and the classification', async () => {
    const out = capture();
    await testCommand(good, { sql: 'DELETE FROM orders WHERE id = 1', json: true }, out);
    const result = JSON.parse(out.text()) as Record<string, unknown>;
    expect(result).toMatchObject({
      policy: good,
      mode: 'audit-only',
      decision: { action: 'allow', wouldBe: 'block', rule: 'no-orders', cacheable: true },
      statements: [{ statement: 'delete', category: 'write', relations: ['orders'], unbounded: false }],
      cacheable: true,
    });
  });

  it('test --script decides every statement of a script', async () => {
    const script = path.join(dir, 'script.sql');
    await writeFile(
      script,
      "\\set x 1\nSELECT 1;\n-- cleanup\nDELETE FROM t;\nCOPY t FROM stdin;\n1\n\\.\nDROP TABLE t; SELECT ';';\n",
    );
    const out = capture();
    await testCommand('default', { script }, out);
    expect(out.text()).toBe(
      [
        `${script}:2: allow  SELECT 1;`,
        `${script}:3: approve (unbounded-write)  -- cleanup DELETE FROM t;`,
        `${script}:5: allow  COPY t FROM stdin;`,
        `${script}:8: block (no-drop)  DROP TABLE t;`,
        `${script}:8: allow  SELECT ';';`,
        '5 statements: 3 allow, 1 approve, 1 block',
        '',
      ].join('\n'),
    );
    await expect(testCommand('default', {}, capture())).rejects.toThrow(
      'give either `--sql <text>` or `--script <file>`',
    );
    await expect(testCommand('default', { script: path.join(dir, 'none.sql') }, capture())).rejects.toThrow(
      'cannot read `--script`',
    );
  });

  it('test shows parse errors', async () => {
    const out = capture();
    await testCommand('default', { sql: 'DR/**/OP TABLE t' }, out);
    expect(out.text()).toContain('decision: block\nrule:     parse-error\n');
    expect(out.text()).toContain('parse error: syntax error at or near "DR" (at character 1)');
  });
});

describe('jit policy (built CLI)', () => {
  it('check: ok → exit 0; invalid → one line on stderr, exit 1', async () => {
    const ok = await execa('node', [JIT_BIN, 'policy', 'check', good], { reject: false });
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toBe('ok: 1 rule, mode audit-only, masking 8 column globs, 6 detectors');
    const invalid = await execa('node', [JIT_BIN, 'policy', 'check', bad], { reject: false });
    expect(invalid.exitCode).toBe(1);
    expect(invalid.stdout).toBe('');
    expect(invalid.stderr).toBe(
      `jit: ${bad}: \`rules[0] (x).match.statements[0]\`: unknown statement 'dorp' (did you mean drop?)`,
    );
    const missing = await execa('node', [JIT_BIN, 'policy', 'check', path.join(dir, 'none.yaml')], {
      reject: false,
    });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/^jit: cannot read policy file .*none\.yaml: no such file$/);
  });

  it('test: prints the decision as JSON', async () => {
    const result = await execa('node', [
      JIT_BIN,
      'policy',
      'test',
      'default',
      '--sql',
      'DROP TABLE users',
      '--json',
    ]);
    expect(JSON.parse(result.stdout)).toMatchObject({
      decision: { action: 'block', rule: 'no-drop', reason: 'DROP TABLE is blocked by rule no-drop' },
    });
  });

  it('has --help with examples', async () => {
    const help = await execa('node', [JIT_BIN, 'policy', 'test', '--help']);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('--sql <text>');
    const top = await execa('node', [JIT_BIN, 'policy', '--help']);
    expect(top.stdout).toContain('jit policy check ./policy.yaml');
  });
});
