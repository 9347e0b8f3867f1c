import { existsSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_POLICY } from '../policy/policy.js';
import { readRecords, verifyFile } from '../audit/read.js';
import type { AuditRecord } from '../audit/record.js';
import { TABLE_HEADER, tableCells } from '../audit/table.js';
import { fileURLToPath } from 'node:url';
import { buildChildEnv } from '../child/env.js';
import { runChild, signalExitCode } from '../child/run.js';
import { DemoError } from '../demo/demo-error.js';
import { DEMO_TTL_MS, demoTarget } from '../demo/demo-target.js';
import { startEmbeddedServer, type EmbeddedServer } from '../demo/embedded-server.js';
import { InterruptTrap } from '../demo/interrupts.js';
import { roleExists } from '../demo/role-check.js';
import { SAMPLE_SIZE, generateSampleData } from '../demo/sample-data.js';
import { DEMO_DATABASE, DEMO_MEMBER_ROLE, seedShop } from '../demo/seed.js';
import { osUserIdentity } from '../session/identity.js';
import { JitSession } from '../session/session.js';
import { formatDuration } from '../util/duration.js';
import { sessionStartedLine } from './status.js';

/** The scripted agent, built next to this file's directory (dist/demo/agent.js). */
const AGENT_SCRIPT = fileURLToPath(new URL('../demo/agent.js', import.meta.url));

type Say = (line: string) => void;

/**
 * `jit demo [-- CMD…]`: embedded PostgreSQL → sample shop data → a direct-mode grant and proxy →
 * the scripted agent (or CMD) with the proxy-only environment → end the session, prove the role
 * is gone, summarise. Returns the agent's exit code. The server and its temp dir are removed on
 * every path, including errors, Ctrl-C and SIGTERM.
 */
export async function demoCommand(command: string[]): Promise<number> {
  const say: Say = (line) => process.stderr.write(`jit demo: ${line}\n`);
  const trap = new InterruptTrap((signal, first) =>
    say(first ? `${signal}: cleaning up (ending the grant, stopping PostgreSQL)…` : 'still cleaning up…'),
  );
  let server: EmbeddedServer | undefined;
  try {
    say('starting an embedded PostgreSQL 18 (first start takes a few seconds)…');
    server = await startEmbeddedServer();
    say(`PostgreSQL is up on ${server.host}:${server.port} (data in ${server.dir}, removed at the end)`);
    throwIfInterrupted(trap);

    const { customers, orders } = SAMPLE_SIZE;
    say(`loading sample data (${customers} customers, ${orders.toLocaleString('en-US')} orders)…`);
    await seedShop(server.superuserUrl, generateSampleData());
    throwIfInterrupted(trap);

    return await runWithGrant(server, command, trap, say);
  } catch (error) {
    // An interrupt often breaks whatever was running (Ctrl-C also reaches PostgreSQL): report the interrupt.
    if (trap.received) {
      if (!server) say('interrupted before PostgreSQL was up; nothing was left behind');
      return signalExitCode(trap.received);
    }
    throw error;
  } finally {
    if (server) {
      await server.stop();
      say(`stopped PostgreSQL and removed ${server.dir}`);
    }
    trap.dispose();
  }
}

async function runWithGrant(
  server: EmbeddedServer,
  command: string[],
  trap: InterruptTrap,
  say: Say,
): Promise<number> {
  const target = demoTarget(server.port);
  const adminUrl = server.superuserUrl(DEMO_DATABASE);
  let connections = 0;
  say(`issuing a ${formatDuration(DEMO_TTL_MS).replace(/m$/, '-minute')} grant…`);
  const session = await JitSession.start({
    target,
    adminUrl,
    identity: osUserIdentity(),
    ttlMs: DEMO_TTL_MS,
    policy: DEFAULT_POLICY,
    auditPath: () => path.join(server.dir, 'audit.jsonl'),
    onConnectionEvent: (event) => {
      if (event.kind === 'connection_open') connections++;
    },
  });
  const startedAt = Date.now();
  process.stderr.write(sessionStartedLine(session, target.name));

  let exitCode: number;
  let endedAt: number;
  try {
    throwIfInterrupted(trap);
    const env = buildChildEnv(process.env, session.connection, {
      adminUrlEnv: target.grant.adminUrlEnv,
      secrets: [adminUrl, server.password, session.grant.password],
    });
    assertNoSecrets(env, [server.password, session.grant.password]);
    const [program, ...args] = agentCommand(command);
    say(
      command.length === 0
        ? 'running a scripted agent as its own process; its environment holds only the proxy address and a one-time password'
        : `running ${shellQuote(command)} with the proxy-only environment`,
    );
    process.stderr.write('\n');
    exitCode = await runChild(program, args, env);
    process.stderr.write('\n');
  } finally {
    await session.stop('child_exited');
    endedAt = Date.now();
  }

  if (await roleExists(adminUrl, session.grant.role)) {
    const why = session.revokeError ? `: ${session.revokeError.message}` : '';
    throw new DemoError(
      'role_not_dropped',
      `the session ended but role ${session.grant.role} is still in pg_roles${why}`,
    );
  }
  const audit = await summarizeAudit(session.audit.path);
  const rows: [string, string][] = [
    ['grant role', `${session.grant.role} (member of ${DEMO_MEMBER_ROLE})`],
    ['lived', `${formatElapsed(endedAt - startedAt)} of its ${formatDuration(DEMO_TTL_MS)} grant`],
    ['connections', `${connections} through the proxy`],
    ['role dropped', 'verified in pg_roles'],
    ['audit trail', audit.line],
    ['masked', audit.masked],
    ['agent exit code', String(exitCode)],
  ];
  say('the audit trail (what `jit audit show` prints; SQL normalized, so literal values stay out of it)');
  for (const line of audit.table) process.stderr.write(`  ${line}\n`);
  process.stderr.write('\n');
  say('summary');
  for (const [label, value] of rows) process.stderr.write(`  ${label.padEnd(16)}${value}\n`);
  if (command.length === 0) {
    say(`try your own agent: jit demo -- psql -c 'select full_name, city from customers limit 3'`);
  }
  return exitCode;
}

/** The user's command, or the scripted agent run with this very Node.js. */
function agentCommand(command: string[]): [string, ...string[]] {
  const [program, ...args] = command;
  if (program !== undefined) return [program, ...args];
  if (!existsSync(AGENT_SCRIPT)) {
    throw new DemoError('agent_missing', `the scripted agent is missing (${AGENT_SCRIPT})`, {
      hint: 'build jit first: npm run build',
    });
  }
  return [process.execPath, AGENT_SCRIPT];
}

/** buildChildEnv already strips these; the demo checks it, since showing it is the point. */
function assertNoSecrets(env: Record<string, string>, secrets: string[]): void {
  const leaked = Object.keys(env).filter((name) => secrets.some((secret) => env[name]?.includes(secret)));
  if (leaked.length > 0) {
    throw new DemoError('secret_in_env', `refusing to start the agent: ${leaked.join(', ')} holds a secret`);
  }
}

function throwIfInterrupted(trap: InterruptTrap): void {
  if (trap.received) throw new DemoError('interrupted', `interrupted by ${trap.received}`);
}

/** The command as a person would type it: `sh -c 'echo $PGUSER'`. */
function shellQuote(args: string[]): string {
  return args
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

/** `2.4s` under ten seconds, else like formatDuration. */
function formatElapsed(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : formatDuration(ms);
}

/** The session's audit records as a table, and one line on the hash chain and the decisions. */
async function summarizeAudit(file: string): Promise<{ line: string; table: string[]; masked: string }> {
  const records: AuditRecord[] = [];
  for await (const { record } of readRecords(file)) if (record) records.push(record);
  const verified = await verifyFile(file);
  const count = (decision: string) =>
    records.filter((r) => r.kind === 'statement' && r.decision === decision).length;
  const chain = verified.ok ? 'hash chain verified' : `hash chain BROKEN at line ${verified.line}`;
  const cells = records.map(tableCells).map((row) => row.filter((_, i) => i !== 1)); // the session column is all the same
  const header = TABLE_HEADER.filter((_, i) => i !== 1) as readonly string[];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => (row[i] ?? '').length)));
  const render = (row: readonly string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell.slice(0, 90) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const masked = new Map<string, number>();
  let maskedStatements = 0;
  for (const record of records) {
    const values = (record.detail as { masked_values?: Record<string, number> } | undefined)?.masked_values;
    if (!values) continue;
    maskedStatements++;
    for (const [column, n] of Object.entries(values)) masked.set(column, (masked.get(column) ?? 0) + n);
  }
  const total = [...masked.values()].reduce((a, b) => a + b, 0);
  return {
    line: `${records.length} records, ${chain}: ${count('allowed')} allowed, ${count('blocked')} blocked, ${count('denied')} denied`,
    table: [render(header), ...cells.map(render)],
    masked:
      total === 0
        ? 'no values'
        : `${total} values in ${maskedStatements} statements (${[...masked.keys()].join(', ')})`,
  };
}
