import { formatDuration } from '../util/duration.js';
import { type CheckResult, fail, ok, warn } from './result.js';

/** One comparison of the local clock with another: `skewMs` > 0 means the local clock is ahead. */
export interface ClockSample {
  /** What the local clock was compared with, e.g. `the IdP (HTTP Date)`. */
  source: string;
  skewMs: number;
  /** How far off the measurement itself may be (round trip, the Date header's whole seconds). */
  uncertaintyMs: number;
}

/** Token checks (exp, nbf) and grant countdowns start to disagree beyond this. */
export const CLOCK_WARN_MS = 30_000;
/** Tokens look expired or not yet valid; grants end at a different time than shown. */
export const CLOCK_FAIL_MS = 5 * 60_000;

/**
 * A sample from a reading of another clock taken between `sentAt` and `receivedAt` (local ms).
 * `wholeSeconds`: the reading is truncated to the second, as an HTTP Date header is.
 */
export function clockSample(
  source: string,
  remoteMs: number,
  sentAt: number,
  receivedAt: number,
  wholeSeconds = false,
): ClockSample {
  const remote = wholeSeconds ? remoteMs + 500 : remoteMs;
  const halfTrip = Math.max(0, receivedAt - sentAt) / 2;
  return {
    source,
    skewMs: sentAt + halfTrip - remote,
    uncertaintyMs: halfTrip + (wholeSeconds ? 500 : 0),
  };
}

/** `clock`: the worst skew decides (beyond the measurement's own uncertainty); undefined without samples. */
export function checkClock(samples: ClockSample[]): CheckResult | undefined {
  if (samples.length === 0) return undefined;
  const beyond = (s: ClockSample): number => Math.max(0, Math.abs(s.skewMs) - s.uncertaintyMs);
  const worst = samples.reduce((a, b) => (beyond(b) > beyond(a) ? b : a));
  const detail = samples.map(describe).join('; ');
  const fix =
    'synchronise the clock with NTP (Linux: `timedatectl set-ntp true`; macOS: System Settings > ' +
    'Date & Time > Set automatically); if this machine is right, the other clock is not';
  if (beyond(worst) > CLOCK_FAIL_MS) return fail('clock', detail, fix);
  if (beyond(worst) > CLOCK_WARN_MS) return warn('clock', detail, fix);
  return ok('clock', detail);
}

function describe(sample: ClockSample): string {
  const abs = Math.abs(sample.skewMs);
  const amount = abs < 10_000 ? `${(abs / 1000).toFixed(1)}s` : formatDuration(abs);
  const direction = sample.skewMs >= 0 ? 'ahead of' : 'behind';
  return `local clock ${amount} ${direction} ${sample.source} (±${(sample.uncertaintyMs / 1000).toFixed(1)}s)`;
}
