import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/log.js';
import { verifyFile } from '../../src/audit/read.js';
import type { AuditEvent } from '../../src/audit/record.js';

// Microbenchmark of the proxy's hot path: AuditLog.append for 100k statement records, in
// batches of 100 with a turn of the event loop between them (as the proxy does: a few records
// per socket read, the writer draining in between). The target is < 5 µs per append; the
// assertion is looser (machines vary, CI is noisy) so that it catches regressions of an order
// of magnitude, not jitter. Set JIT_AUDIT_BENCH_MAX_US to tighten it.

const N = 100_000;
const BATCH = 100;
const event: AuditEvent = {
  kind: 'statement',
  session: '1a2b3c4d5e6f',
  grant: 'jit_alice_1a2b3c4d',
  identity: { sub: 'alice', email: 'alice@example.com', authenticated: true },
  target: 'dev',
  connection: 3,
  sql: 'SELECT id, name, email FROM customers WHERE id = $1 AND created_at > $2',
  fingerprint: 'a1b2c3d4e5f60718',
  decision: 'allowed',
  rule: 'read-only',
  duration_ms: 0.412,
  rows: 1,
  masked: ['email'],
};

it.each(['async', 'sync'] as const)('append: 100k statement records, %s durability', async (durability) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'jit-bench-'));
  try {
    const file = path.join(dir, 'bench.jsonl');
    const log = await AuditLog.open(file, { durability });
    for (let i = 0; i < 10_000; i++) log.append(event); // warm up the JIT
    await log.flushed();
    let appendNs = 0n;
    const wall = process.hrtime.bigint();
    for (let done = 0; done < N; done += BATCH) {
      const t0 = process.hrtime.bigint();
      for (let j = 0; j < BATCH; j++) log.append(event);
      appendNs += process.hrtime.bigint() - t0;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await log.flushed();
    const wallUs = Number(process.hrtime.bigint() - wall) / 1000 / N;
    const appendUs = Number(appendNs) / 1000 / N;
    await log.close();
    console.log(
      `audit append (${durability}): ${appendUs.toFixed(2)} µs/record on the hot path, ` +
        `${wallUs.toFixed(2)} µs/record wall clock including writes`,
    );
    expect(await verifyFile(file)).toEqual({ ok: true, records: N + 10_000 });
    expect(appendUs).toBeLessThan(Number(process.env.JIT_AUDIT_BENCH_MAX_US ?? 25));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
