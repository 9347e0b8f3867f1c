import type { JitConfig } from '../config/schema.js';
import type { CheckResult } from './result.js';

/** Shorter values are too likely to occur in ordinary text to be cut out of it. */
const MIN_SECRET_LENGTH = 4;

/**
 * The secrets doctor may have come near: each direct target's admin URL from the environment and
 * the password in it (in its written and decoded forms).
 */
export function secretsOf(config: JitConfig | undefined, env: NodeJS.ProcessEnv): string[] {
  const secrets = new Set<string>();
  for (const target of Object.values(config?.targets ?? {})) {
    const source = target.grant.adminUrlEnv;
    if (target.grant.via !== 'direct' || source.startsWith('keyring:')) continue;
    const value = env[source]?.trim();
    if (!value) continue;
    secrets.add(value);
    try {
      const url = new URL(value);
      secrets.add(url.password);
      secrets.add(decodeURIComponent(url.password));
    } catch {
      // not a URL: the whole value is already listed
    }
  }
  return [...secrets].filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

/** Belt and braces: cuts every secret out of every detail and fix (the checks never put one in). */
export function redact(results: CheckResult[], secrets: string[]): CheckResult[] {
  const scrub = (text: string): string => secrets.reduce((t, secret) => t.split(secret).join('***'), text);
  return results.map((r) => ({
    ...r,
    detail: scrub(r.detail),
    ...(r.fix !== undefined && { fix: scrub(r.fix) }),
  }));
}
