import { appendFile } from 'node:fs/promises';
import type { SessionEvent, SessionInfoEvent } from './events.js';

/** What a session did, for the closing summary (text, JSON and the GitHub step summary). */
export interface SessionSummary {
  session: string;
  target: string;
  role: string;
  identity: string;
  statements: number;
  allowed: number;
  blocked: number;
  /** Held for approval (then approved or denied). */
  held: number;
  approved: number;
  denied: number;
  errors: number;
  /** Statements whose results had masked values. */
  masked: number;
  maskedColumns: string[];
  /** Rules that blocked or held something, with counts. */
  rules: Record<string, number>;
  ended?: string;
}

/** Counts a session's events into a summary. */
export class SummaryCounter {
  private info: SessionInfoEvent | undefined;
  private ended: string | undefined;
  private readonly counts = {
    statements: 0,
    allowed: 0,
    blocked: 0,
    held: 0,
    approved: 0,
    denied: 0,
    errors: 0,
    masked: 0,
  };
  private readonly columns = new Set<string>();
  private readonly rules: Record<string, number> = {};

  add(events: SessionEvent[]): void {
    for (const event of events) {
      if (event.type === 'session') this.info = event;
      else if (event.type === 'ended') this.ended = event.reason;
      else if (event.type === 'statement') {
        const c = this.counts;
        c.statements++;
        if (event.decision === 'allowed') c.allowed++;
        else if (event.decision === 'blocked') c.blocked++;
        else if (event.decision === 'error') c.errors++;
        else {
          c.held++;
          if (event.decision === 'approved') c.approved++;
          else c.denied++;
        }
        if (event.masked && event.masked.length > 0) {
          c.masked++;
          for (const column of event.masked) this.columns.add(column);
        }
        if (event.rule && event.decision !== 'allowed')
          this.rules[event.rule] = (this.rules[event.rule] ?? 0) + 1;
      }
    }
  }

  summary(): SessionSummary {
    const info = this.info;
    return {
      session: info?.session ?? '',
      target: info?.target ?? '',
      role: info?.role ?? '',
      identity: info ? (info.identity.email ?? info.identity.sub) : '',
      ...this.counts,
      maskedColumns: [...this.columns].sort(),
      rules: { ...this.rules },
      ...(this.ended !== undefined && { ended: this.ended }),
    };
  }
}

/** One line for a terminal. */
export function summaryLine(s: SessionSummary): string {
  const parts = [
    `${s.statements} statement${s.statements === 1 ? '' : 's'}`,
    `${s.blocked} blocked`,
    `${s.held} held (${s.approved} approved, ${s.denied} denied)`,
    `${s.masked} with masked values`,
  ];
  if (s.errors > 0) parts.push(`${s.errors} failed`);
  return `jit: summary: ${parts.join(', ')}\n`;
}

/** A Markdown section for `$GITHUB_STEP_SUMMARY`. */
export function summaryMarkdown(s: SessionSummary): string {
  const rules = Object.entries(s.rules)
    .sort((a, b) => b[1] - a[1])
    .map(([rule, n]) => `\`${rule}\` × ${n}`)
    .join(', ');
  const rows: [string, string][] = [
    ['Target', escapeCell(s.target)],
    ['Identity', escapeCell(s.identity)],
    ['Role', `\`${s.role}\``],
    ['Statements', String(s.statements)],
    ['Allowed', String(s.allowed)],
    ['Blocked', String(s.blocked)],
    ['Held', `${s.held} (${s.approved} approved, ${s.denied} denied)`],
    ['Failed', String(s.errors)],
    [
      'Masked',
      `${s.masked} statements${s.maskedColumns.length ? ` (${s.maskedColumns.map((c) => `\`${c}\``).join(', ')})` : ''}`,
    ],
  ];
  if (rules) rows.push(['Rules', rules]);
  return [
    `### jit session \`${s.session}\``,
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    '',
    '',
  ].join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Appends the Markdown summary to the file GitHub Actions names, when it does. */
export async function writeStepSummary(
  s: SessionSummary,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!file) return;
  await appendFile(file, summaryMarkdown(s));
}

/** An event as one JSON line (`ts` added for readers that want wall-clock time). */
export function eventLine(event: SessionEvent): string {
  return `${JSON.stringify({ ts: new Date(event.at).toISOString(), ...event })}\n`;
}
