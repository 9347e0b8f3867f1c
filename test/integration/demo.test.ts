import { existsSync } from 'node:fs';
import net from 'node:net';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { SAMPLE_SIZE, generateSampleData, passesLuhn } from '../../src/demo/sample-data.js';
import { JIT_BIN, cleanEnv, runJit } from '../helpers/jit.js';

/** Each run starts its own PostgreSQL; a few seconds each. */
const TIMEOUT_MS = 60_000;

/** What `jit demo` says about the server it started, parsed from its stderr. */
function serverOf(stderr: string): { dir: string; port: number } {
  const match = /PostgreSQL is up on 127\.0\.0\.1:(\d+) \(data in (\S+), removed at the end\)/.exec(stderr);
  if (!match) throw new Error(`jit demo did not say where its server was; stderr:\n${stderr}`);
  return { port: Number(match[1]), dir: match[2] as string };
}

/** The server is gone: no process mentions its data dir, the dir is removed, the port refuses. */
async function expectCleanedUp(stderr: string): Promise<void> {
  const { dir, port } = serverOf(stderr);
  expect(stderr).toContain(`stopped PostgreSQL and removed ${dir}`);
  expect(existsSync(dir)).toBe(false);
  const { stdout } = await execa('ps', ['-eo', 'pid,args']);
  expect(stdout.split('\n').filter((line) => line.includes(dir))).toEqual([]);
  const refused = await new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
  expect(refused).toBe(true);
}

describe('jit demo', () => {
  it(
    'runs the scripted agent through a grant, drops the role and leaves nothing behind',
    async () => {
      const result = await runJit(['demo'], { env: cleanEnv() });
      const { stdout, stderr } = result;
      expect(result.exitCode, stderr).toBe(0);

      expect(stderr).toContain('starting an embedded PostgreSQL 18');
      expect(stderr).toContain('loading sample data (200 customers, 1,000 orders)');
      expect(stderr).toContain('issuing a 15-minute grant');

      // The agent's own view: only the proxy and a one-time password, no admin credential.
      expect(stdout).toMatch(/PGHOST=127\.0\.0\.1 {2}PGPORT=\d+ {2}PGDATABASE=shop/);
      expect(stdout).toContain('admin credentials: none');
      const role = /^ {4}(jit_\w+)$/m.exec(stdout.split('Who am I connected as?')[1] ?? '')?.[1];
      expect(role).toMatch(/^jit_[a-z0-9_]+_[0-9a-f]{8}$/);
      expect(stdout).toContain('customers, orders, products');
      expect(stdout).toMatch(/How many customers are there\?[\s\S]*?-{9}\n\s+200\n/);
      expect(stdout).toMatch(/Top 5 cities by order total[\s\S]*?city\s+orders\s+total\n(.*\n){6}/);
      expect(stdout).toMatch(/1 row updated \(order #\d+ is now shipped\)/);
      // The customers' personal data reaches the agent masked, by every query the demo tries.
      const data = generateSampleData();
      for (const customer of data.customers.slice(0, 3)) {
        for (const value of [customer.email, customer.phone, customer.ssn, customer.cardNumber]) {
          expect(stdout).not.toContain(value);
        }
        expect(stdout).toContain(customer.fullName);
      }
      expect(stdout).toMatch(/ \w\*\*\*@example\.com /);
      expect(stdout).toContain('[REDACTED:email]');
      expect(stderr).toMatch(/masked {10}\d+ values in \d+ statements \(.*public\.customers\.email/);
      expect(stdout).toContain('agent: done.');
      expect(stdout).not.toContain('ERROR');

      // The summary names the same role and proves it is gone.
      expect(stderr).toContain(`grant role      ${role} (member of app_rw)`);
      expect(stderr).toMatch(/connections {5}1 through the proxy/);
      expect(stderr).toContain('role dropped    verified in pg_roles');
      expect(stderr).toContain('agent exit code 0');
      await expectCleanedUp(stderr);
    },
    TIMEOUT_MS,
  );

  it(
    "runs a given command instead, with the session's user, and exits with its code",
    async () => {
      const result = await runJit(['demo', '--', 'sh', '-c', 'echo "$PGUSER"; exit 4'], { env: cleanEnv() });
      expect(result.exitCode, result.stderr).toBe(4);
      expect(result.stdout.trim()).toMatch(/^jit_[a-z0-9_]+_[0-9a-f]{8}$/);
      expect(result.stderr).toContain('agent exit code 4');
      expect(result.stderr).toContain('role dropped    verified in pg_roles');
      await expectCleanedUp(result.stderr);
    },
    TIMEOUT_MS,
  );

  it(
    "keeps admin DSNs out of the agent's environment, even ones jit inherited",
    async () => {
      const decoy = 'postgres://postgres:decoy-secret@127.0.0.1:5432/postgres';
      const script = `
        const leaks = Object.entries(process.env)
          .filter(([, value]) => value.includes('postgres://postgres:') || value.includes('decoy-secret'))
          .map(([name]) => name);
        if (leaks.length > 0) { console.log('LEAKED ' + leaks.join(',')); process.exit(3); }
        const url = new URL(process.env.DATABASE_URL);
        console.log('DATABASE_URL ' + url.username + '@' + url.host + ' ' + (url.password === process.env.PGPASSWORD));`;
      const env = cleanEnv({ JIT_ADMIN_URL: decoy, DATABASE_URL: decoy, POSTGRES_URL: decoy });
      const result = await runJit(['demo', '--', process.execPath, '-e', script], { env });
      expect(result.stdout).not.toContain('LEAKED');
      expect(result.exitCode, result.stderr).toBe(0);
      const { port } = serverOf(result.stderr);
      const line = /^DATABASE_URL (jit_\w+)@127\.0\.0\.1:(\d+) true$/m.exec(result.stdout);
      expect(line, result.stdout).not.toBeNull();
      // The agent's URL is the proxy's, never the server's.
      expect(Number(line?.[2])).not.toBe(port);
      await expectCleanedUp(result.stderr);
    },
    TIMEOUT_MS,
  );

  it(
    'cleans up when jit gets SIGTERM while the agent runs',
    async () => {
      const child = execa('node', [JIT_BIN, 'demo', '--', 'sleep', '30'], {
        env: cleanEnv(),
        extendEnv: false,
        reject: false,
        timeout: TIMEOUT_MS,
      });
      let stderr = '';
      await new Promise<void>((resolve, reject) => {
        child.stderr?.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (stderr.includes('running sleep 30')) resolve();
        });
        void child.then(() => reject(new Error(`jit demo exited before running the command:\n${stderr}`)));
      });
      child.kill('SIGTERM');
      const result = await child;
      expect(result.exitCode, result.stderr).toBe(143);
      expect(result.stderr).toContain('SIGTERM: cleaning up');
      expect(result.stderr).toContain('role dropped    verified in pg_roles');
      await expectCleanedUp(result.stderr);
    },
    TIMEOUT_MS,
  );
});

describe('the sample data', () => {
  it('is deterministic and fake by construction', () => {
    const data = generateSampleData();
    expect(generateSampleData()).toEqual(data);
    expect(data.customers).toHaveLength(SAMPLE_SIZE.customers);
    expect(data.orders).toHaveLength(SAMPLE_SIZE.orders);
    expect(data.products).toHaveLength(SAMPLE_SIZE.products);
    for (const c of data.customers) {
      expect(c.email).toMatch(/^[a-z]+\.[a-z]+\d{1,2}@example\.com$/);
      expect(c.phone).toMatch(/^\+1-\d{3}-555-01\d{2}$/);
      expect(c.ssn).toMatch(/^9\d{2}-(?!00)\d{2}-(?!0000)\d{4}$/);
      expect(c.cardNumber).toMatch(/^411111\d{10}$/);
      expect(passesLuhn(c.cardNumber)).toBe(true);
    }
    expect(new Set(data.customers.map((c) => c.email)).size).toBe(SAMPLE_SIZE.customers);
    expect(passesLuhn('4111111111111112')).toBe(false);
    for (const o of data.orders) {
      expect(o.amount).toMatch(/^\d+\.\d{2}$/);
      expect(o.customerId).toBeGreaterThanOrEqual(1);
      expect(o.customerId).toBeLessThanOrEqual(SAMPLE_SIZE.customers);
    }
  });
});
