import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, nodeIo, type AuditIo } from '../../src/audit/log.js';
import {
  AuditError,
  canonicalJson,
  GENESIS_HASH,
  hashRecord,
  type AuditEvent,
  type AuditRecord,
} from '../../src/audit/record.js';
import { verifyFile } from '../../src/audit/read.js';

// --- making things read-only for real ---------------------------------------------------------
// As an ordinary user, mode 0555 on a directory refuses new files (EACCES). Root ignores modes,
// so as root the immutable attribute (chattr +i, EPERM) is used; it also refuses writes to a
// file that is already open, which no mode can do.

const isRoot = process.getuid?.() === 0;
const frozen = new Set<string>();

/** Root with a filesystem and chattr that support the immutable attribute (probed on a scratch file). */
function canMakeImmutable(): boolean {
  if (!isRoot) return false;
  const probe = mkdtempSync(path.join(tmpdir(), 'jit-chattr-'));
  try {
    execFileSync('chattr', ['+i', probe], { stdio: 'ignore' });
    execFileSync('chattr', ['-i', probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}
const immutableSupported = canMakeImmutable();

async function freeze(target: string): Promise<void> {
  if (isRoot) {
    if (!immutableSupported)
      throw new Error('running as root without chattr: cannot make anything read-only');
    execFileSync('chattr', ['+i', target]);
  } else {
    await chmod(target, 0o555);
  }
  frozen.add(target);
}

async function unfreeze(under: string): Promise<void> {
  for (const target of frozen) {
    if (!target.startsWith(under)) continue;
    if (isRoot) execFileSync('chattr', ['-i', target]);
    else await chmod(target, 0o755);
    frozen.delete(target);
  }
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'jit-audit-'));
});
afterEach(async () => {
  await unfreeze(dir);
  await rm(dir, { recursive: true, force: true });
});

const identity = { sub: 'alice', email: 'alice@example.com', authenticated: true };

function statement(i: number, extra: Partial<AuditEvent> = {}): AuditEvent {
  return {
    kind: 'statement',
    session: '1a2b3c4d5e6f',
    grant: 'jit_alice_1a2b3c4d',
    identity,
    target: 'dev',
    connection: (i % 4) + 1,
    sql: `SELECT name FROM customers WHERE id = $1 -- ${i}`,
    fingerprint: 'a1b2c3d4',
    decision: 'allowed',
    rule: 'read',
    duration_ms: i / 7,
    rows: i,
    masked: ['email'],
    ...extra,
  };
}

/** A clock that ticks 1 ms per call from a fixed start. */
function ticking(start = Date.parse('2025-01-31T09:00:00Z')): () => Date {
  let ms = start;
  return () => new Date(ms++);
}

async function lines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
}

const EIO = (): NodeJS.ErrnoException => Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });

describe('canonicalJson', () => {
  it('sorts keys at every depth, whatever the insertion order', () => {
    const a = { b: 1, a: { z: [3, { y: 1, x: 2 }], m: null }, c: 'x' };
    const b = { c: 'x', a: { m: null, z: [3, { x: 2, y: 1 }] }, b: 1 };
    expect(canonicalJson(a)).toBe('{"a":{"m":null,"z":[3,{"x":2,"y":1}]},"b":1,"c":"x"}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
  });

  it('sorts integer-like keys as strings (JavaScript enumerates them numerically)', () => {
    expect(canonicalJson({ 9: 'a', 10: 'b', a: 'c', '': 'd' })).toBe('{"":"d","10":"b","9":"a","a":"c"}');
  });

  it('omits undefined members, keeps null, keeps array order', () => {
    expect(canonicalJson({ a: undefined, b: null, c: [2, 1] })).toBe('{"b":null,"c":[2,1]}');
  });

  it('writes numbers in their shortest round-trip form', () => {
    expect(canonicalJson([1.0, 0.1, 1e21, 5e-7, -0, 123456789012, -1.5])).toBe(
      '[1,0.1,1e+21,5e-7,0,123456789012,-1.5]',
    );
    for (const bad of [Number.NaN, Infinity, -Infinity])
      expect(() => canonicalJson({ x: bad })).toThrow(TypeError);
  });

  it('keeps non-ASCII text as is and escapes control characters and lone surrogates', () => {
    expect(canonicalJson({ s: 'é ✓ 😀 "q" \\ \n\t\u0001' })).toBe(
      '{"s":"é ✓ 😀 \\"q\\" \\\\ \\n\\t\\u0001"}',
    );
    expect(canonicalJson('\ud800')).toBe('"\\ud800"');
  });

  it('round-trips through JSON.parse to the same text', () => {
    const value = {
      z: { 2: [true, false, null], 10: 'é\u2028' },
      a: [0.30000000000000004, -0, 1e-7],
      s: '\ud83d',
    };
    const text = canonicalJson(value);
    expect(text).toBe(
      '{"a":[0.30000000000000004,0,1e-7],"s":"\\ud83d","z":{"10":"é\u2028","2":[true,false,null]}}',
    );
    expect(canonicalJson(JSON.parse(text))).toBe(text);
  });

  it('uses toJSON (Dates) and rejects values JSON has no form for', () => {
    expect(canonicalJson({ at: new Date('2025-01-31T09:00:00Z') })).toBe('{"at":"2025-01-31T09:00:00.000Z"}');
    expect(() => canonicalJson({ f: () => 1 })).toThrow(TypeError);
    expect(() => canonicalJson([undefined])).toThrow(TypeError);
    expect(() => canonicalJson({ n: 1n })).toThrow(TypeError);
  });

  it('hashes a known record to a known digest (computed independently with Python hashlib)', () => {
    const record: Omit<AuditRecord, 'hash'> = {
      ts: '2025-01-31T09:00:00.000Z',
      seq: 1,
      session: '1a2b3c4d5e6f',
      grant: 'jit_alice_1a2b3c4d',
      identity: { sub: 'alice', email: 'alice@example.com', authenticated: true },
      target: 'dev',
      kind: 'statement',
      connection: 1,
      sql: 'SELECT name FROM customers WHERE id = $1 -- é ✓',
      fingerprint: '0a1b2c3d',
      decision: 'allowed',
      rule: 'read',
      duration_ms: 0.5,
      rows: 1,
      masked: ['email'],
      prev: GENESIS_HASH,
    };
    expect(hashRecord(GENESIS_HASH, record)).toBe(
      '81cb880842c6167f51bcb927b81b9a0aa5bd5b03d4c439db9a309c621c73c4f5',
    );
  });
});

describe('AuditLog chain', () => {
  it('chains many records: seq 1…n, prev = previous hash, hash recomputes, lines are canonical', async () => {
    const file = path.join(dir, 'a.jsonl');
    const log = await AuditLog.open(file, { durability: 'async', now: ticking() });
    const returned: AuditRecord[] = [];
    const events: AuditEvent[] = [];
    const n = 3000;
    for (let i = 0; i < n; i++) {
      const event =
        i % 100 === 0
          ? ({
              kind: 'session_start',
              session: '1a2b3c4d5e6f',
              grant: null,
              identity: { sub: 'bob', authenticated: false },
              target: 'dev',
              // detail with unordered and integer-like keys, nested, unicode
              detail: { z: 1, a: { '10': 'x', '9': ['é', null] }, pid: i, upstream: 'postgres://h/db' },
            } satisfies AuditEvent)
          : statement(
              i,
              i % 7 === 0
                ? { sql: `SELECT '😀 ${i}' AS "q""x", E'\\n'`, approver: undefined }
                : i % 3 === 0
                  ? // whole microseconds (what the guard records), every optional field, another identity
                    {
                      duration_ms: ((i * 37) % 100_000) / 1000,
                      approver: 'alice@example.com',
                      reason: `held: "x" \\ ${i}`,
                      sqlstate: '42501',
                      identity: {
                        sub: 'carol',
                        email: 'c@example.com',
                        iss: 'https://idp',
                        authenticated: true,
                      },
                    }
                  : i % 5 === 0
                    ? { duration_ms: i, rows: undefined, masked: undefined, fingerprint: undefined }
                    : {},
            );
      events.push(event);
      returned.push(log.append(event));
      if (i % 500 === 0) await log.flushed();
    }
    await log.close();

    const text = await lines(file);
    expect(text).toHaveLength(n);
    let prev = GENESIS_HASH;
    text.forEach((line, i) => {
      const parsed = JSON.parse(line) as AuditRecord;
      expect(parsed.seq).toBe(i + 1);
      expect(parsed.prev).toBe(prev);
      expect(hashRecord(parsed.prev, parsed)).toBe(parsed.hash);
      // what was appended is what was written
      const event = events[i] as AuditEvent;
      expect(parsed.identity).toEqual({ ...event.identity });
      expect(parsed.duration_ms).toBe(event.duration_ms);
      expect(parsed.reason).toBe(event.reason);
      // the writer's hand-built JSON is exactly the canonical form
      expect(canonicalJson(parsed)).toBe(line);
      // and what append returned is what was written
      expect(parsed).toEqual(JSON.parse(JSON.stringify(returned[i])));
      prev = parsed.hash;
    });
    expect(returned[1]?.ts).toBe('2025-01-31T09:00:00.001Z');
    expect(await verifyFile(file)).toEqual({ ok: true, records: n });
  });

  it('writes ts as ISO 8601 with milliseconds, across second boundaries', async () => {
    const file = path.join(dir, 'ts.jsonl');
    const times = [999, 1000, 1001, 61_999, 62_000].map((ms) => Date.parse('2025-12-31T23:59:00Z') + ms);
    let i = 0;
    const log = await AuditLog.open(file, { durability: 'async', now: () => new Date(times[i++] as number) });
    const stamps = times.map(() => log.append(statement(1)).ts);
    await log.close();
    expect(stamps).toEqual(times.map((ms) => new Date(ms).toISOString()));
  });

  it('does not record identity members beyond sub, email, authenticated', async () => {
    const file = path.join(dir, 'id.jsonl');
    const log = await AuditLog.open(file, { durability: 'async' });
    const wide = { sub: 'alice', authenticated: true, name: 'Alice', groups: ['admins'] };
    log.append(statement(1, { identity: wide }));
    await log.close();
    expect(JSON.parse((await lines(file))[0] as string).identity).toEqual({
      sub: 'alice',
      authenticated: true,
    });
  });

  it('rejects a non-finite number without consuming a seq', async () => {
    const file = path.join(dir, 'nan.jsonl');
    const log = await AuditLog.open(file, { durability: 'async' });
    expect(() => log.append(statement(1, { duration_ms: Number.NaN }))).toThrow(
      expect.objectContaining({ code: 'bad_event' }),
    );
    expect(() => log.append({ ...statement(1), kind: 'session_end', detail: { n: Infinity } })).toThrow(
      expect.objectContaining({ code: 'bad_event' }),
    );
    expect(log.append(statement(2)).seq).toBe(1);
    await log.close();
    expect(await verifyFile(file)).toEqual({ ok: true, records: 1 });
  });

  it('reopening continues the chain (seq, prev)', async () => {
    const file = path.join(dir, 'nested', 'deeper', 'b.jsonl');
    const first = await AuditLog.open(file, { durability: 'sync' });
    for (let i = 0; i < 3; i++) first.append(statement(i));
    await first.close();
    const second = await AuditLog.open(file, { durability: 'sync' });
    const fourth = second.append(statement(3));
    second.append(statement(4));
    await second.close();
    const text = await lines(file);
    expect(fourth.seq).toBe(4);
    expect(fourth.prev).toBe((JSON.parse(text[2] as string) as AuditRecord).hash);
    expect(await verifyFile(file)).toEqual({ ok: true, records: 5 });
  });

  it('creates the file 0600 and missing parent directories 0700', async () => {
    const file = path.join(dir, 'new', 'c.jsonl');
    const log = await AuditLog.open(file, { durability: 'async' });
    log.append(statement(1));
    await log.close();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
  });

  it('append after close throws; close is idempotent', async () => {
    const log = await AuditLog.open(path.join(dir, 'd.jsonl'), { durability: 'async' });
    await Promise.all([log.close(), log.close()]);
    expect(() => log.append(statement(1))).toThrow(expect.objectContaining({ code: 'closed' }));
  });
});

describe('AuditLog lock', () => {
  it('a second open while locked fails naming the holder pid; after close it opens', async () => {
    const file = path.join(dir, 'e.jsonl');
    const log = await AuditLog.open(file, { durability: 'async' });
    const second = AuditLog.open(file, { durability: 'async' });
    await expect(second).rejects.toBeInstanceOf(AuditError);
    await expect(second).rejects.toMatchObject({
      code: 'locked',
      message: expect.stringContaining(`process ${process.pid}`),
    });
    await log.close();
    expect(existsSync(`${file}.lock`)).toBe(false);
    await (await AuditLog.open(file, { durability: 'async' })).close();
  });

  it('a lock held by another live process is refused', async () => {
    const file = path.join(dir, 'f.jsonl');
    await writeFile(`${file}.lock`, `${process.ppid}\n`);
    await expect(AuditLog.open(file, { durability: 'async' })).rejects.toMatchObject({
      code: 'locked',
      message: expect.stringContaining(`process ${process.ppid}`),
    });
  });

  it('a stale lock (its pid is dead) is taken over', async () => {
    const file = path.join(dir, 'g.jsonl');
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(child.stdout.toString());
    expect(deadPid).toBeGreaterThan(0);
    await writeFile(`${file}.lock`, `${deadPid}\n`);
    const log = await AuditLog.open(file, { durability: 'async' });
    expect((await readFile(`${file}.lock`, 'utf8')).trim()).toBe(String(process.pid));
    await log.close();
    expect(existsSync(`${file}.lock`)).toBe(false);
  });
});

describe('AuditLog refuses a broken tail', () => {
  async function threeRecords(file: string): Promise<void> {
    const log = await AuditLog.open(file, { durability: 'async' });
    for (let i = 0; i < 3; i++) log.append(statement(i));
    await log.close();
  }

  it('a last line cut halfway → broken_chain naming line 3, file untouched, lock released', async () => {
    const file = path.join(dir, 'h.jsonl');
    await threeRecords(file);
    const size = (await stat(file)).size;
    await truncate(file, size - 40);
    await expect(AuditLog.open(file, { durability: 'async' })).rejects.toMatchObject({
      code: 'broken_chain',
      message: expect.stringMatching(/line 3: the last line is incomplete/),
    });
    expect((await stat(file)).size).toBe(size - 40);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('an altered last record → broken_chain naming its line', async () => {
    const file = path.join(dir, 'i.jsonl');
    await threeRecords(file);
    await writeFile(file, (await readFile(file, 'utf8')).replace('-- 2', '-- 9'));
    await expect(AuditLog.open(file, { durability: 'async' })).rejects.toMatchObject({
      code: 'broken_chain',
      message: expect.stringMatching(/line 3: hash does not match/),
    });
  });

  it('a last line that is not a record → broken_chain', async () => {
    const file = path.join(dir, 'j.jsonl');
    await threeRecords(file);
    await writeFile(file, `${await readFile(file, 'utf8')}{"hello":1}\n`);
    await expect(AuditLog.open(file, { durability: 'async' })).rejects.toMatchObject({
      code: 'broken_chain',
      message: expect.stringContaining('line 4'),
    });
  });
});

/** A seam that records calls and lets the test decide when each write and sync completes. */
function controlledIo() {
  const events: string[] = [];
  const held: (() => void)[] = [];
  const io: AuditIo = {
    write: async (fd, data) => {
      events.push(`write ${data.toString().split('\n').length - 1}`);
      await new Promise<void>((resolve) => held.push(resolve));
      return nodeIo.write(fd, data);
    },
    datasync: async (fd) => {
      events.push('datasync');
      await new Promise<void>((resolve) => held.push(resolve));
      return nodeIo.datasync(fd);
    },
  };
  /** Lets the oldest held call finish, then waits for the writer to react. */
  const release = async () => {
    const next = held.shift();
    if (!next) throw new Error('nothing held');
    next();
    await new Promise((resolve) => setTimeout(resolve, 20));
  };
  const waitHeld = async () => {
    for (let i = 0; i < 100 && held.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  return { io, events, release, waitHeld };
}

describe('AuditLog durability and group commit', () => {
  it('sync: flushed() resolves only after the write and then the fdatasync', async () => {
    const { io, events, release, waitHeld } = controlledIo();
    const log = await AuditLog.open(path.join(dir, 'k.jsonl'), { durability: 'sync', io });
    log.append(statement(1));
    log.append(statement(2));
    const flushed = log.flushed().then(() => events.push('flushed'));
    await waitHeld();
    expect(events).toEqual(['write 2']);
    await release(); // the write completes
    expect(events).toEqual(['write 2', 'datasync']);
    await release(); // the sync completes
    await flushed;
    expect(events).toEqual(['write 2', 'datasync', 'flushed']);
    const closing = log.close();
    await closing;
  });

  it('async: flushed() resolves after the write, without fdatasync', async () => {
    const { io, events, release, waitHeld } = controlledIo();
    const log = await AuditLog.open(path.join(dir, 'l.jsonl'), { durability: 'async', io });
    log.append(statement(1));
    const flushed = log.flushed().then(() => events.push('flushed'));
    await waitHeld();
    await release();
    await flushed;
    expect(events).toEqual(['write 1', 'flushed']);
    const closing = log.close(); // close syncs once
    await waitHeld();
    await release();
    await closing;
    expect(events).toEqual(['write 1', 'flushed', 'datasync']);
  });

  it('batches: one write per turn for everything appended, and one for all appended while it ran', async () => {
    const { io, events, release, waitHeld } = controlledIo();
    const file = path.join(dir, 'm.jsonl');
    const log = await AuditLog.open(file, { durability: 'async', io });
    for (let i = 0; i < 1000; i++) log.append(statement(i));
    await waitHeld();
    for (let i = 0; i < 500; i++) log.append(statement(i)); // while the first write is in flight
    const done = log.flushed();
    await release();
    await waitHeld();
    await release();
    await done;
    expect(events).toEqual(['write 1000', 'write 500']);
    const closing = log.close();
    await waitHeld();
    await release();
    await closing;
    expect(await verifyFile(file)).toEqual({ ok: true, records: 1500 });
  });

  it('a short write is continued, not lost', async () => {
    const file = path.join(dir, 'n.jsonl');
    const io: AuditIo = {
      write: (fd, data) => nodeIo.write(fd, data.subarray(0, 7)),
      datasync: nodeIo.datasync,
    };
    const log = await AuditLog.open(file, { durability: 'sync', io });
    for (let i = 0; i < 5; i++) log.append(statement(i));
    await log.close();
    expect(await verifyFile(file)).toEqual({ ok: true, records: 5 });
  });
});

/** Collects failures; the log must report exactly one. */
function watch(log: AuditLog): AuditError[] {
  const failures: AuditError[] = [];
  log.onFailure((error) => failures.push(error));
  return failures;
}

async function expectFailedLog(log: AuditLog, failures: AuditError[], why: RegExp): Promise<void> {
  await expect(log.flushed()).rejects.toMatchObject({
    code: 'write_failed',
    message: expect.stringMatching(why),
  });
  await new Promise((resolve) => setTimeout(resolve, 10));
  expect(failures).toHaveLength(1);
  expect(failures[0]).toBeInstanceOf(AuditError);
  expect(failures[0]?.message).toMatch(why);
  expect(() => log.append(statement(99))).toThrow(expect.objectContaining({ code: 'write_failed' }));
  await expect(log.close()).rejects.toMatchObject({ code: 'write_failed' });
  expect(existsSync(`${log.path}.lock`)).toBe(false);
  // a late listener still hears about it, once
  const late: AuditError[] = [];
  log.onFailure((error) => late.push(error));
  await new Promise((resolve) => setTimeout(resolve, 10));
  expect(late).toHaveLength(1);
  expect(failures).toHaveLength(1);
}

describe('AuditLog failures', () => {
  it('a failed write (injected ENOSPC) fires onFailure once; append throws from then on', async () => {
    let calls = 0;
    const io: AuditIo = {
      write: (fd, data) => {
        calls++;
        return calls === 1
          ? nodeIo.write(fd, data)
          : Promise.reject(
              Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }),
            );
      },
      datasync: nodeIo.datasync,
    };
    const file = path.join(dir, 'o.jsonl');
    const log = await AuditLog.open(file, { durability: 'async', io });
    const failures = watch(log);
    log.append(statement(1));
    await log.flushed();
    log.append(statement(2));
    await expectFailedLog(log, failures, /ENOSPC/);
    expect(await verifyFile(file)).toEqual({ ok: true, records: 1 });
  });

  it('a failed fdatasync (injected EIO) in sync mode fails the log', async () => {
    const io: AuditIo = { write: nodeIo.write, datasync: () => Promise.reject(EIO()) };
    const log = await AuditLog.open(path.join(dir, 'p.jsonl'), { durability: 'sync', io });
    const failures = watch(log);
    log.append(statement(1));
    await expectFailedLog(log, failures, /EIO/);
  });

  it.skipIf(!existsSync('/dev/full'))('a real full device (/dev/full: ENOSPC) fails the log', async () => {
    const file = path.join(dir, 'full.jsonl');
    await symlink('/dev/full', file);
    const log = await AuditLog.open(file, { durability: 'sync' });
    const failures = watch(log);
    log.append(statement(1));
    await expectFailedLog(log, failures, /ENOSPC/);
  });

  it('the directory removed under a running log (ENOENT) fails the log', async () => {
    const sub = path.join(dir, 'gone');
    const log = await AuditLog.open(path.join(sub, 'q.jsonl'), { durability: 'async' });
    const failures = watch(log);
    log.append(statement(1));
    await log.flushed();
    await rm(sub, { recursive: true });
    log.append(statement(2));
    await expectFailedLog(log, failures, /the file was removed/);
  });

  it('the file replaced under a running log fails the log', async () => {
    const file = path.join(dir, 'r.jsonl');
    const log = await AuditLog.open(file, { durability: 'async' });
    const failures = watch(log);
    log.append(statement(1));
    await log.flushed();
    await writeFile(`${file}.new`, '');
    await rename(`${file}.new`, file);
    log.append(statement(2));
    await expectFailedLog(log, failures, /the file was replaced/);
  });

  it('opening in a read-only directory fails with the OS error (EACCES, or EPERM when root)', async () => {
    const ro = path.join(dir, 'ro');
    await mkdir(ro);
    await freeze(ro);
    await expect(AuditLog.open(path.join(ro, 's.jsonl'), { durability: 'async' })).rejects.toMatchObject({
      code: 'open_failed',
      message: expect.stringMatching(/EACCES|EPERM/),
    });
  });

  it('opening a path that is a directory (EISDIR) fails and releases the lock', async () => {
    const target = path.join(dir, 'adir');
    await mkdir(target);
    await expect(AuditLog.open(target, { durability: 'async' })).rejects.toMatchObject({
      code: 'open_failed',
      message: expect.stringContaining('EISDIR'),
    });
    expect(existsSync(`${target}.lock`)).toBe(false);
  });

  it('opening under a path that is a file (ENOTDIR) fails', async () => {
    await writeFile(path.join(dir, 'plain'), '');
    await expect(
      AuditLog.open(path.join(dir, 'plain', 't.jsonl'), { durability: 'async' }),
    ).rejects.toMatchObject({
      code: 'open_failed',
      message: expect.stringMatching(/ENOTDIR|EEXIST/),
    });
  });

  it.skipIf(!immutableSupported)(
    'a write refused by the OS (file made immutable: EPERM) fails the log',
    async () => {
      const file = path.join(dir, 'u.jsonl');
      const log = await AuditLog.open(file, { durability: 'async' });
      const failures = watch(log);
      log.append(statement(1));
      await log.flushed();
      await freeze(file);
      log.append(statement(2));
      await expectFailedLog(log, failures, /EPERM/);
    },
  );
});
