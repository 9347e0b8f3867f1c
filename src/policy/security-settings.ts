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
