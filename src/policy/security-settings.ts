/**
 * Settings an agent must not change on its own: they switch identity, lift read-only
 * guards, or disable row security / triggers. Shared by the proxy's startup check and the
 * SQL classifier's SET/RESET rules so both paths refuse the same things.
 */
export const PROTECTED_SETTINGS: ReadonlySet<string> = new Set([
  'role',
  'session_authorization',
  'default_transaction_read_only',
  'transaction_read_only',
  'row_security',
  'session_replication_role',
  'local_preload_libraries',
  'session_preload_libraries',
  'shared_preload_libraries',
  'jit_above_cost',
  // With `off`, backslashes escape quotes in '…' literals: the server would then split a
  // statement differently from the classifier's parser.
  'standard_conforming_strings',
]);

/** Canonical form of a setting name as PostgreSQL compares them (case-insensitive, `-` = `_`). */
export function canonicalSetting(name: string): string {
  return name.trim().toLowerCase().replace(/-/g, '_');
}

/** True when a setting is protected: listed above, or a custom (dotted) setting that RLS policies may read. */
export function isProtectedSetting(name: string): boolean {
  const canonical = canonicalSetting(name);
  return PROTECTED_SETTINGS.has(canonical) || canonical.includes('.');
}

/** Encodings the proxy and the classifier decode the same way as the server. */
const SAFE_CLIENT_ENCODINGS: ReadonlySet<string> = new Set(['utf8', 'unicode']);

/** Values that only tighten a protected setting, so changing to them is harmless. */
const HARMLESS_VALUES: Readonly<Record<string, (value: string) => boolean>> = {
  default_transaction_read_only: isTrueValue,
  transaction_read_only: isTrueValue,
  standard_conforming_strings: isTrueValue,
};

function isTrueValue(value: string): boolean {
  return /^\s*(on|true|yes|1|t|y)\s*$/i.test(value);
}

/**
 * True when setting `name` to `value` (undefined: unknown) could lift a guard: any protected
 * setting except to a tightening value (`default_transaction_read_only = on`), and
 * `client_encoding` (also `SET NAMES`) to anything but UTF8 — in an encoding like SJIS or GBK a
 * multi-byte character can end in the byte of `'` or `\`, so the server would split the text
 * differently from the proxy, which decodes UTF-8.
 */
export function isProtectedSettingChange(name: string, value: string | undefined): boolean {
  const canonical = canonicalSetting(name);
  if (canonical === 'client_encoding') {
    return value === undefined || !SAFE_CLIENT_ENCODINGS.has(value.trim().toLowerCase().replace(/[-_]/g, ''));
  }
  if (!isProtectedSetting(canonical)) return false;
  const harmless = HARMLESS_VALUES[canonical];
  return value === undefined || harmless === undefined || !harmless(value);
}
