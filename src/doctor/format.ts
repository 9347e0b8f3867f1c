import type { CheckResult, CheckStatus } from './result.js';

const COLORS: Record<CheckStatus, string> = { ok: '\x1b[32m', warn: '\x1b[33m', fail: '\x1b[31m' };
const RESET = '\x1b[0m';

/** `ok|warn|fail  check: detail`, and for warn/fail a `  fix: …` line; a count at the end. */
export function formatText(results: CheckResult[], color = false): string {
  const lines: string[] = [];
  for (const r of results) {
    const status = r.status.padEnd(4);
    lines.push(`${color ? `${COLORS[r.status]}${status}${RESET}` : status}  ${r.check}: ${r.detail}`);
    if (r.status !== 'ok' && r.fix) lines.push(`  fix: ${r.fix}`);
  }
  const count = (status: CheckStatus): number => results.filter((r) => r.status === status).length;
  lines.push('', `${count('ok')} ok, ${count('warn')} warn, ${count('fail')} fail`);
  return `${lines.join('\n')}\n`;
}

/** The results as a JSON array of {check, status, detail, fix}; `fix` is null for a passed check. */
export function formatJson(results: CheckResult[]): string {
  const rows = results.map((r) => ({
    check: r.check,
    status: r.status,
    detail: r.detail,
    fix: r.fix ?? null,
  }));
  return `${JSON.stringify(rows, null, 2)}\n`;
}
