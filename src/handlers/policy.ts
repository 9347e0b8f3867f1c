import { readFile } from 'node:fs/promises';
import type { PolicyTestOptions } from '../cli/policy.js';
import { classify, type StatementInfo } from '../policy/classify.js';
import { decide } from '../policy/decide.js';
import { initParser, PolicyError } from '../policy/parse.js';
import { DEFAULT_POLICY, loadPolicy, type Policy } from '../policy/policy.js';
import { splitScript } from '../policy/sql-script.js';

/** Where command output goes (injected by tests). */
export interface Output {
  write(text: string): unknown;
}

/** `default` names the built-in policy; anything else is a file. */
function load(file: string): Promise<Policy> {
  return file === 'default' ? Promise.resolve(DEFAULT_POLICY) : loadPolicy(file);
}

/** `jit policy check FILE`: "ok: N rules, mode M, masking …", or a PolicyError (one line, exit 1). */
export async function checkCommand(file: string, out: Output = process.stdout): Promise<number> {
  const policy = await load(file);
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const { columns, detectors } = policy.masking;
  const globs = columns.reduce((n, rule) => n + rule.columns.length, 0);
  const masking =
    columns.length === 0 && detectors.length === 0
      ? 'masking off'
      : `masking ${count(globs, 'column glob')}, ${count(detectors.length, 'detector')}`;
  out.write(`ok: ${count(policy.rules.length, 'rule')}, mode ${policy.mode}, ${masking}\n`);
  return 0;
}

/** `jit policy test FILE --sql "…"`: the decision and the classified statements. */
export async function testCommand(
  file: string,
  options: PolicyTestOptions,
  out: Output = process.stdout,
): Promise<number> {
  if ((options.sql === undefined) === (options.script === undefined)) {
    throw new PolicyError('bad_arguments', 'give either `--sql <text>` or `--script <file>`');
  }
  const policy = await load(file);
  await initParser();
  if (options.script !== undefined) return testScript(policy, options.script, options.json ?? false, out);
  const classification = classify(options.sql ?? '');
  const decision = decide(policy, classification);
  if (options.json) {
    const { statement: _statement, ...summary } = decision;
    out.write(
      `${JSON.stringify(
        {
          policy: policy.source,
          mode: policy.mode,
          decision: summary,
          statements: classification.statements,
          ...(classification.parseError && { parseError: classification.parseError }),
          cacheable: classification.cacheable,
        },
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  const lines = [
    `decision: ${decision.action}${decision.wouldBe ? ` (audit-only; enforce would ${decision.wouldBe})` : ''}`,
    `rule:     ${decision.rule ?? '-'}`,
    `reason:   ${decision.reason}`,
  ];
  if (classification.parseError) {
    const at = classification.parseError.position;
    lines.push(
      `parse error: ${classification.parseError.message}${at === undefined ? '' : ` (at character ${at + 1})`}`,
    );
  }
  if (classification.statements.length > 0) lines.push('statements:');
  classification.statements.forEach((statement, i) => lines.push(...describe(statement, i + 1)));
  out.write(`${lines.join('\n')}\n`);
  return 0;
}

/** `--script`: one line per statement with its decision, and a count per action. */
async function testScript(policy: Policy, script: string, json: boolean, out: Output): Promise<number> {
  let text: string;
  try {
    text = await readFile(script, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PolicyError(
      'script_unreadable',
      `cannot read \`--script\` ${script}: ${code ?? String(error)}`,
      {
        cause: error,
      },
    );
  }
  const results = splitScript(text).map(({ sql, line }) => {
    const { statement: _statement, ...decision } = decide(policy, classify(sql));
    return { line, sql, decision };
  });
  if (json) {
    out.write(
      `${JSON.stringify({ policy: policy.source, mode: policy.mode, statements: results }, null, 2)}\n`,
    );
    return 0;
  }
  const counts = { allow: 0, approve: 0, block: 0 };
  for (const { line, sql, decision } of results) {
    counts[decision.action]++;
    const rule = decision.rule === undefined ? '' : ` (${decision.rule})`;
    const would = decision.wouldBe === undefined ? '' : ` [audit-only: would ${decision.wouldBe}]`;
    out.write(`${script}:${line}: ${decision.action}${rule}${would}  ${oneLine(sql)}\n`);
  }
  out.write(
    `${results.length} statements: ${counts.allow} allow, ${counts.approve} approve, ${counts.block} block\n`,
  );
  return 0;
}

function describe(statement: StatementInfo, index: number): string[] {
  const indent = statement.nested ? '     ' : '  ';
  const flags = [
    statement.category,
    ...(statement.unbounded ? ['unbounded'] : []),
    ...(statement.nested ? ['nested'] : []),
  ];
  const lines = [
    `${indent}${index}. ${statement.statement} [${flags.join(', ')}] ${oneLine(statement.text)}`,
  ];
  const details: [string, string[]][] = [
    ['functions', statement.functions],
    ['relations', statement.relations],
    ['settings', statement.settings],
  ];
  for (const [label, values] of details) {
    if (values.length > 0) lines.push(`${indent}   ${label}: ${values.join(', ')}`);
  }
  return lines;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 100 ? `${flat.slice(0, 97)}...` : flat;
}
