import type { GrantsCommandOptions } from '../cli/grants.js';
import { gcGrants, listGrants, revokeGrant } from '../grant/admin.js';
import { formatDuration } from '../util/duration.js';
import { loadConfig } from '../config/load.js';
import { ConfigError, type JitConfig } from '../config/schema.js';
import { resolveAdminUrl, resolveTarget } from '../config/target.js';
import { brokerClientFor } from './broker-access.js';
import { resolveAdminInputs } from './session-inputs.js';

/** `jit grants list`: the roles on the target (direct mode), or open grants at the broker. */
export async function listCommand(options: GrantsCommandOptions): Promise<number> {
  const config = await loadConfig({ configPath: options.config, env: process.env, cwd: process.cwd() });
  const target = resolveTarget(config, options.target);
  if (target.grant.via === 'broker') return listBrokerGrants(config, target.name, options);
  if (options.all) {
    throw new ConfigError('all_needs_broker', '`--all` is for broker targets', {
      hint: 'in direct mode `jit grants list` already shows every jit role on the target',
    });
  }
  const adminUrl = await resolveAdminUrl(target, process.env);
  const grants = await listGrants({ adminUrl, tls: target.tls });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(grants, null, 2)}\n`);
    return 0;
  }
  if (grants.length === 0) {
    process.stdout.write(`no jit grants on target '${target.name}'\n`);
    return 0;
  }
  printTable(
    ['ROLE', 'VALID UNTIL', 'STATE', 'CONNS', 'LOGIN', 'COMMENT'],
    grants.map((g) => [
      g.role,
      g.validUntil ? g.validUntil.toISOString() : '-',
      g.expired ? 'expired' : g.validUntil ? timeLeft(g.validUntil) : '-',
      String(g.connections),
      g.login ? '' : 'NOLOGIN',
      g.comment ?? '',
    ]),
  );
  return 0;
}

/** The caller's open grants at the broker (pending, approved, active), or everyone's with `--all`. */
async function listBrokerGrants(
  config: JitConfig,
  targetName: string,
  options: GrantsCommandOptions,
): Promise<number> {
  const client = await brokerClientFor(config, 'jit grants list', {}, process.env);
  const grants = (await client.listGrants(options.all === true)).filter((g) => g.target === targetName);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(grants, null, 2)}\n`);
    return 0;
  }
  if (grants.length === 0) {
    process.stdout.write(`no open grants on target '${targetName}' at the broker\n`);
    return 0;
  }
  printTable(
    ['GRANT', 'STATUS', 'ROLE', 'EXPIRES', ...(options.all ? ['REQUESTER'] : []), 'REASON'],
    grants.map((g) => [
      g.id,
      g.status,
      g.role ?? '-',
      g.expires_at ? timeLeft(new Date(g.expires_at)) : '-',
      ...(options.all ? [g.requester.email ?? g.requester.sub] : []),
      g.reason,
    ]),
  );
  return 0;
}

function timeLeft(until: Date): string {
  return `${formatDuration(until.getTime() - Date.now())} left`;
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  for (const row of [header, ...rows]) {
    process.stdout.write(
      `${row
        .map((cell, i) => cell.padEnd(widths[i] as number))
        .join('  ')
        .trimEnd()}\n`,
    );
  }
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
  const config = await loadConfig({ configPath: options.config, env: process.env, cwd: process.cwd() });
  const target = resolveTarget(config, options.target);
  if (target.grant.via === 'broker') {
    // Nobody here holds the admin credential: the broker's reaper drops ended and expired roles.
    const note = `target '${target.name}' is a broker target: the broker's reaper drops its expired roles; nothing to do here`;
    process.stdout.write(
      options.json ? `${JSON.stringify({ dropped: [], failed: [], note })}\n` : `${note}\n`,
    );
    return 0;
  }
  const adminUrl = await resolveAdminUrl(target, process.env);
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
