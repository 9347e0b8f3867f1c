import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { TargetConfig } from '../../src/config/schema.js';
import { DEFAULT_POLICY, parsePolicy } from '../../src/policy/policy.js';
import type { Policy } from '../../src/policy/policy.js';
import type { ApprovalRequest, ApprovalResult, Approver } from '../../src/proxy/guard/approver.js';
import { connectionUrl } from '../../src/child/env.js';
import { JitSession } from '../../src/session/session.js';
import { withClient } from '../helpers/db.js';
import type { TestTarget } from '../helpers/jit.js';
import { createTarget } from '../helpers/jit.js';

const serverAdminUrl = inject('adminUrl');
let target: TestTarget;
let work: string;

/** Stands in for the human at the approval terminal: the test answers each request. */
class ScriptedApprover implements Approver {
  readonly requests: ApprovalRequest[] = [];
  private answer: ((result: ApprovalResult) => void) | undefined;
  private arrived: (() => void) | undefined;

  request(request: ApprovalRequest, signal: AbortSignal): Promise<ApprovalResult> {
    this.requests.push(request);
    this.arrived?.();
    return new Promise((resolve, reject) => {
      this.answer = resolve;
      signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
  }

  /** Resolves when a request is waiting for an answer. */
  waitForRequest(): Promise<void> {
    if (this.answer !== undefined) return Promise.resolve();
    return new Promise((resolve) => (this.arrived = resolve));
  }

  respond(result: ApprovalResult): void {
    const answer = this.answer;
    this.answer = undefined;
    answer?.(result);
  }
}

function testTarget(): TargetConfig {
  return {
    name: 'test',
    upstream: { host: '127.0.0.1', port: target.port, database: target.database, url: '' },
    tls: { mode: 'disable' },
    grant: {
      via: 'direct',
      adminUrlEnv: 'JIT_ADMIN_URL',
      roles: [target.memberRole],
      ttlMs: 600_000,
      maxTtlMs: 3_600_000,
      connectionLimit: 50,
    },
  };
}

async function startSession(approver: Approver, policy: Policy = DEFAULT_POLICY) {
  const auditFile = path.join(work, `audit-${Math.random().toString(36).slice(2)}.jsonl`);
  const session = await JitSession.start({
    target: testTarget(),
    adminUrl: target.adminUrl,
    identity: { sub: 'test:approvals', name: 'approvals', authenticated: false },
    ttlMs: 600_000,
    policy,
    auditPath: () => auditFile,
    approver,
  });
  return { session, url: connectionUrl(session.connection), auditFile };
}

async function names(): Promise<string[]> {
  return withClient(target.adminUrl, async (c) =>
    (await c.query('SELECT DISTINCT name FROM customers ORDER BY 1')).rows.map((r) => r.name),
  );
}

beforeAll(async () => {
  target = await createTarget(serverAdminUrl);
  work = await mkdtemp(path.join(tmpdir(), 'jit-approvals-'));
});

afterAll(async () => {
  await target?.cleanup();
  await rm(work, { recursive: true, force: true });
});

beforeEach(async () => {
  await withClient(target.adminUrl, (c) => c.query(`UPDATE customers SET name = 'name ' || id`));
});

describe('held statements', () => {
  it('wait for a human; hold only their own connection; run once approved', async () => {
    const approver = new ScriptedApprover();
    const { session, url, auditFile } = await startSession(approver);
    const held = new pg.Client({ connectionString: url });
    const other = new pg.Client({ connectionString: url });
    await held.connect();
    await other.connect();
    try {
      const update = held.query(`UPDATE customers SET name = 'approved'`);
      await approver.waitForRequest();
      expect(approver.requests[0]).toMatchObject({
        rule: 'unbounded-write',
        sql: `UPDATE customers SET name = 'approved'`,
      });
      // Another connection is not held up.
      expect((await other.query('SELECT 1 AS one')).rows[0].one).toBe(1);
      // Nothing reached the database yet.
      expect(await names()).not.toContain('approved');
      approver.respond({ outcome: 'approve_once', approver: 'alice' });
      expect((await update).rowCount).toBe(100);
      expect(await names()).toEqual(['approved']);
    } finally {
      await held.end();
      await other.end();
      await session.stop();
    }
    const records = (await readFile(auditFile, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(records.find((r) => r.kind === 'approval')).toMatchObject({
      decision: 'approved',
      approver: 'alice',
    });
    expect(records.find((r) => r.kind === 'statement' && r.decision === 'approved')).toMatchObject({
      approver: 'alice',
      rows: 100,
      rule: 'unbounded-write',
    });
  });

  it('a denial becomes 42501 with the reason, and nothing runs', async () => {
    const approver = new ScriptedApprover();
    const { session, url } = await startSession(approver);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const update = client
        .query(`UPDATE customers SET name = 'denied'`)
        .catch((e: { code: string; message: string }) => e);
      await approver.waitForRequest();
      approver.respond({ outcome: 'deny', approver: 'bob', reason: 'use a WHERE clause' });
      const error = (await update) as { code: string; message: string };
      expect(error.code).toBe('42501');
      expect(error.message).toContain('use a WHERE clause');
      expect(await names()).not.toContain('denied');
      expect((await client.query('SELECT 2 AS two')).rows[0].two).toBe(2);
    } finally {
      await client.end();
      await session.stop();
    }
  });

  it('approve this fingerprint: later statements of the same shape pass without asking', async () => {
    const approver = new ScriptedApprover();
    const { session, url } = await startSession(approver);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const first = client.query(`UPDATE customers SET name = 'first'`);
      await approver.waitForRequest();
      approver.respond({ outcome: 'approve_fingerprint', approver: 'alice' });
      await first;
      await client.query(`UPDATE customers SET name = 'second'`);
      expect(approver.requests).toHaveLength(1);
      expect(await names()).toEqual(['second']);
      // A different shape still asks.
      const other = client.query('DELETE FROM customers').catch((e: { code: string }) => e);
      await approver.waitForRequest();
      expect(approver.requests).toHaveLength(2);
      approver.respond({ outcome: 'deny', approver: 'alice' });
      expect(await other).toMatchObject({ code: '42501' });
    } finally {
      await client.end();
      await session.stop();
    }
  });

  it('nobody answers: denied when the policy timeout passes', async () => {
    const approver = new ScriptedApprover();
    const policy = parsePolicy(
      'approval: { timeout: 1s, when_unattended: deny }\nrules:\n  - { name: unbounded-write, match: { statements: [update, delete], unbounded: true }, action: approve }\n',
      'inline.yaml',
    );
    const { session, url } = await startSession(approver, policy);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const started = Date.now();
      const error = await client
        .query(`UPDATE customers SET name = 'late'`)
        .catch((e: { code: string; message: string }) => e);
      expect(error).toMatchObject({ code: '42501' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(await names()).not.toContain('late');
    } finally {
      await client.end();
      await session.stop();
    }
  });

  it('extended protocol and pipelines: a held Parse holds what follows on its connection', async () => {
    const approver = new ScriptedApprover();
    const { session, url } = await startSession(approver);
    const sql = postgres(url, { max: 1 });
    try {
      const results = Promise.all([
        sql`UPDATE customers SET name = ${'pipelined'}`,
        sql`SELECT count(*)::int AS n FROM customers WHERE name = 'pipelined'`,
      ]);
      await approver.waitForRequest();
      approver.respond({ outcome: 'approve_once', approver: 'carol' });
      const [update, count] = await results;
      expect(update.count).toBe(100);
      // The SELECT was behind the held UPDATE, so it sees its effect.
      expect(count[0]?.n).toBe(100);
    } finally {
      await sql.end();
      await session.stop();
    }
  });
});
