import { isJitError } from '../util/errors.js';

/** How a check came out: `fail` makes `jit doctor` exit 1. */
export const Status = { ok: 'ok', warn: 'warn', fail: 'fail' } as const;

/** One of Status. */
export type CheckStatus = (typeof Status)[keyof typeof Status];

/** One line of `jit doctor`: what was checked, what was found, and for warn/fail how to fix it. */
export interface CheckResult {
  check: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

/** A passed check. */
export function ok(check: string, detail: string): CheckResult {
  return { check, status: Status.ok, detail };
}

/** Works, but not as well as it could; `fix` says how to do better. */
export function warn(check: string, detail: string, fix: string): CheckResult {
  return { check, status: Status.warn, detail, fix };
}

/** Broken; `fix` says what to do. */
export function fail(check: string, detail: string, fix: string): CheckResult {
  return { check, status: Status.fail, detail, fix };
}

/** A failed check from an error: a JitError's message and hint; anything else as unexpected. */
export function failFrom(check: string, error: unknown, fallbackFix: string): CheckResult {
  if (isJitError(error)) return fail(check, error.message, error.hint ?? fallbackFix);
  const message = error instanceof Error ? error.message : String(error);
  return fail(
    check,
    `unexpected error: ${message}`,
    'run again with DEBUG=jit for details, and report it if it persists',
  );
}

/** The first line of an error's message, for a one-line detail. */
export function reasonOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split('\n', 1)[0]?.trim() ?? '';
  return line === '' ? 'unknown error' : line;
}
