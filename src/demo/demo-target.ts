import type { TargetConfig } from '../config/schema.js';
import { DEMO_DATABASE, DEMO_MEMBER_ROLE } from './seed.js';

/** How long the demo's grant lasts (its progress line says "a 15-minute grant"). */
export const DEMO_TTL_MS = 15 * 60_000;

/** The in-memory target `jit demo` grants access to: the shop database on the embedded server. */
export function demoTarget(port: number): TargetConfig {
  return {
    name: 'demo',
    upstream: {
      host: '127.0.0.1',
      port,
      database: DEMO_DATABASE,
      url: `postgres://127.0.0.1:${port}/${DEMO_DATABASE}`,
    },
    tls: { mode: 'disable' },
    grant: {
      via: 'direct',
      adminUrlEnv: 'JIT_ADMIN_URL',
      roles: [DEMO_MEMBER_ROLE],
      ttlMs: DEMO_TTL_MS,
      maxTtlMs: 60 * 60_000,
      connectionLimit: 20,
    },
  };
}
