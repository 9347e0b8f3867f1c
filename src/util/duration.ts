import { JitError } from './errors.js';

/** Raised for a duration that is not of the form `90s`, `15m`, `1h30m`, `2d`. */
export class DurationError extends JitError {}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `15m`, `1h30m`, `90s`, `500ms`, `2d` into milliseconds. `what` names the option in errors. */
export function parseDuration(text: string, what = 'duration'): number {
  const trimmed = text.trim();
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = re.exec(trimmed); match; match = re.exec(trimmed)) {
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    consumed = re.lastIndex;
  }
  if (trimmed.length === 0 || consumed !== trimmed.length || !(total > 0)) {
    throw new DurationError(
      'bad_duration',
      `\`${what}\` must be a duration like 90s, 15m or 1h30m (got "${text}")`,
    );
  }
  return Math.round(total);
}

/** Formats milliseconds as a short human duration: `14m 59s`, `1h 2m`, `45s`. */
export function formatDuration(ms: number): string {
  const totalSeconds = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return s > 0 ? `${m}m ${s}s` : `${m}m`;
  return `${s}s`;
}
