import type { GrantsCommandOptions } from '../cli/grants.js';
import { gcGrants, listGrants, revokeGrant } from '../grant/admin.js';
import { formatDuration } from '../util/duration.js';
import { loadConfig } from '../config/load.js';
import { resolveTarget } from '../config/target.js';
import { brokerClientFor } from './broker-access.js';
import { resolveAdminInputs } from './session-inputs.js';

/** `jit grants list`. */
export async function listCommand(options: GrantsCommandOptions): Promise<number> {
  const { target, adminUrl } = await resolveAdminInputs(options);
  const grants = await listGrants({ adminUrl, tls: target.tls });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(grants, null, 2)}\n`);
    return 0;
  }
  if (grants.length === 0) {
    process.stdout.write(`no jit grants on target '${target.name}'\n`);
    return 0;
  }
  const rows = grants.map((g) => [
    g.role,
    g.validUntil ? g.validUntil.toISOString() : '-',
    g.expired
      ? 'expired'
      : g.validUntil
        ? `${formatDuration(g.validUntil.getTime() - Date.now())} left`
        : '-',
    String(g.connections),
    g.login ? '' : 'NOLOGIN',
    g.comment ?? '',
  ]);
  const header = ['ROLE', 'VALID UNTIL', 'STATE', 'CONNS', 'LOGIN', 'COMMENT'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  for (const row of [header, ...rows]) {
    process.stdout.write(
      `${row
        .map((cell, i) => cell.padEnd(widths[i] as number))
        .join('  ')
        .trimEnd()}\n`,
    );
  }
  return 0;
}

/** `jit grants revoke ROLE` (direct mode), or `jit grants revoke g_…` through the broker. */
export async function revokeCommand(role: string, options: GrantsCommandOptions): Promise<number> {
  const config = await loadConfig({ configPath: options.config, env: process.env, cwd: process.cwd() });
  if (resolveTarget(config, options.target).grant.via === 'broker') {
    const client = await brokerClientFor(config, 'jit grants revoke', {}, process.env);
    const grant = await client.revoke(role, options.reason ?? 'revoked with jit grants revoke');
    const line = `revoked ${grant.id}${grant.role ? ` (role ${grant.role})` : ''} through the broker`;
    process.stdout.write(
      options.json ? `${JSON.stringify({ revoked: grant.id, role: grant.role })}\n` : `${line}\n`,
    );
    return 0;
  }
  const { target, adminUrl } = await resolveAdminInputs(options);
  await revokeGrant({ adminUrl, tls: target.tls }, role);
  process.stdout.write(options.json ? `${JSON.stringify({ revoked: role })}\n` : `revoked ${role}\n`);
  return 0;
}

/** `jit grants gc`. */
export async function gcCommand(options: GrantsCommandOptions): Promise<number> {
  const { target, adminUrl } = await resolveAdminInputs(options);
  const result = await gcGrants({ adminUrl, tls: target.tls });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    for (const role of result.dropped) process.stdout.write(`dropped ${role}\n`);
    for (const { role, reason } of result.failed)
      process.stderr.write(`jit: could not drop ${role}: ${reason}\n`);
    if (result.dropped.length === 0 && result.failed.length === 0)
      process.stdout.write('no expired jit roles\n');
  }
  return result.failed.length > 0 ? 1 : 0;
}
