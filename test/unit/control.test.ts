import { lutimes, mkdtemp, rm, stat } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectControl } from '../../src/control/client.js';
import { newNonce, newPairingCode, normalizeCode, PairingKeys } from '../../src/control/pairing.js';
import { ControlServer } from '../../src/control/server.js';
import { liveSockets, listSockets } from '../../src/control/paths.js';
import { AttendedApprover } from '../../src/live/approver.js';
import type { SessionEvent } from '../../src/live/events.js';
import { LiveHub } from '../../src/live/hub.js';
import type { ApprovalRequest } from '../../src/proxy/guard/approver.js';

const SESSION = 'a1b2c3d4e5f6';

function request(sql = 'UPDATE customers SET name = name'): ApprovalRequest {
  return {
    session: SESSION,
    connection: 7,
    sql,
    normalized: sql,
    fingerprint: 'fp1',
    rule: 'unbounded-write',
    reason: 'an UPDATE without a WHERE clause',
    requestedAt: new Date(),
  };
}

/** Raw lines from a socket, for speaking the protocol by hand (as an attacker would). */
function rawClient(file: string) {
  const socket = net.connect(file);
  const lines: string[] = [];
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    buffer += d;
    let i: number;
    while ((i = buffer.indexOf('\n')) >= 0) {
      lines.push(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
    }
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => {});
  const next = async (n: number) => {
    for (let i = 0; i < 200 && lines.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    return lines[n - 1];
  };
  return { socket, lines, closed, next, send: (o: unknown) => socket.write(`${JSON.stringify(o)}\n`) };
}

describe('control socket pairing', () => {
  let dir: string;
  let hub: LiveHub;
  let approver: AttendedApprover;
  let server: ControlServer;
  let code: string;
  const failures: number[] = [];

  beforeEach(async () => {
    dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'jit-control-')), 'run');
    hub = new LiveHub();
    approver = new AttendedApprover(hub, { timeoutMs: 60_000 });
    code = newPairingCode();
    failures.length = 0;
    server = await ControlServer.start({
      dir,
      session: SESSION,
      target: 'dev',
      code,
      hub,
      approver,
      onPairingFailure: (n) => failures.push(n),
    });
  });

  afterEach(async () => {
    await server.close();
    await rm(path.dirname(dir), { recursive: true, force: true });
  });

  it('is a 0600 socket in a 0700 directory', async () => {
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(server.path)).mode & 0o777).toBe(0o600);
  });

  it('codes have 80 bits in four groups and tolerate case, dashes and look-alikes', () => {
    const c = newPairingCode();
    expect(c).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    expect(normalizeCode(c.toLowerCase())).toBe(c.replace(/-/g, ''));
    expect(normalizeCode('O1-il')).toBe('0111');
  });

  it('a paired watcher gets the snapshot and live events, and its decision releases the statement', async () => {
    hub.publish({ type: 'notice', at: Date.now(), level: 'info', message: 'before' });
    const watcher = await connectControl(server.path, code.toLowerCase(), 'tester');
    expect(watcher.hello).toMatchObject({ session: SESSION, target: 'dev', pid: process.pid });
    expect(watcher.snapshot().some((e) => e.type === 'notice' && e.message === 'before')).toBe(true);
    const seen: SessionEvent[] = [];
    watcher.subscribe((events) => seen.push(...events));
    const decided = approver.request(request(), new AbortController().signal);
    await until(() => seen.some((e) => e.type === 'held'));
    const held = seen.find((e) => e.type === 'held');
    expect(held).toMatchObject({
      sql: 'UPDATE customers SET name = name',
      rule: 'unbounded-write',
      connection: 7,
    });
    watcher.decide({ id: held?.type === 'held' ? held.id : '', outcome: 'approve_once' });
    await expect(decided).resolves.toEqual({ outcome: 'approve_once', approver: 'tester' });
    await until(() => seen.some((e) => e.type === 'resolved'));
    watcher.close();
  });

  it('a wrong code is detected by the watcher before it sends anything', async () => {
    await expect(connectControl(server.path, newPairingCode(), 'x')).rejects.toThrow(
      /does not know this pairing code/,
    );
    expect(failures).toEqual([]);
  });

  it('a client without the code cannot pass, is counted, and five tries lock pairing', async () => {
    for (let attempt = 1; attempt <= 5; attempt++) {
      const c = rawClient(server.path);
      c.send({ type: 'hello', version: 1, nonce: newNonce() });
      const challenge = JSON.parse((await c.next(1)) ?? '{}') as { type: string; proof: string };
      expect(challenge.type).toBe('challenge');
      // Replaying the server's own proof, or any guess, is refused.
      c.send({ type: 'auth', proof: challenge.proof });
      expect(JSON.parse((await c.next(2)) ?? '{}')).toMatchObject({
        type: 'refused',
        message: 'wrong pairing code',
      });
      await c.closed;
    }
    expect(failures).toEqual([1, 2, 3, 4, 5]);
    expect(server.locked).toBe(true);
    // Even the right code is refused now.
    await expect(connectControl(server.path, code, 'x')).rejects.toThrow(/pairing is locked/);
    expect(hub.snapshot().filter((e) => e.type === 'notice' && e.level === 'warn')).toHaveLength(5);
  });

  it('nothing about the session is sent before pairing', async () => {
    const c = rawClient(server.path);
    const decided = approver.request(request('UPDATE secret_table SET x = 1'), new AbortController().signal);
    c.send({ type: 'hello', version: 1, nonce: newNonce() });
    await c.next(1);
    c.send({ type: 'decide', id: 'anything', outcome: 'approve_once' });
    await c.closed;
    expect(c.lines.join('\n')).not.toContain('secret_table');
    expect(approver.pendingCount).toBe(1);
    void decided;
  });

  it('an altered or replayed decision closes the connection and decides nothing', async () => {
    // A paired channel, spoken by hand with keys derived from the code.
    const c = rawClient(server.path);
    const cn = newNonce();
    c.send({ type: 'hello', version: 1, nonce: cn });
    const challenge = JSON.parse((await c.next(1)) ?? '{}') as { nonce: string };
    const keys = new PairingKeys(code, SESSION);
    c.send({ type: 'auth', proof: keys.proof('client', cn, challenge.nonce) });
    await c.next(2); // the sealed snapshot
    const decided = approver.request(request(), new AbortController().signal);
    await c.next(3); // the held event
    const { SealedChannel } = await import('../../src/control/pairing.js');
    const mk = keys.messageKeys(cn, challenge.nonce);
    const channel = new SealedChannel(mk.toServer, mk.toClient);
    const line = channel.seal({ type: 'decide', id: 'nope', outcome: 'deny' });
    c.socket.write(line);
    await c.next(4); // decided ok:false (unknown id)
    c.socket.write(line); // replay: same seq
    await c.closed;
    expect(approver.pendingCount).toBe(1);
    void decided;
  });

  it('a planted socket that does not know the code is not trusted', async () => {
    const fake = net.createServer((s) => {
      s.on('data', () =>
        s.write(
          `${JSON.stringify({ type: 'challenge', session: SESSION, nonce: newNonce(), proof: '00'.repeat(32) })}\n`,
        ),
      );
    });
    const fakePath = path.join(dir, 'fake.sock');
    await new Promise<void>((resolve) => fake.listen(fakePath, resolve));
    try {
      await expect(connectControl(fakePath, code, 'x')).rejects.toThrow(/not jit's socket/);
    } finally {
      fake.close();
    }
  });

  it('a held statement is denied at its deadline when nobody answers', async () => {
    const abort = new AbortController();
    const decided = approver.request(request(), abort.signal);
    abort.abort();
    await expect(decided).resolves.toMatchObject({ outcome: 'deny', approver: 'timeout' });
  });
  it("jit watch's list skips a socket its killed session left behind, and removes it once it is old", async () => {
    // A session killed outright (SIGKILL) cannot remove its socket: nothing listens on it now.
    const stale = path.join(dir, 'deadbeef0000.sock');
    const holder = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`,
    ]);
    await new Promise((resolve) => holder.stdout.once('data', resolve));
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(await listSockets(dir)).toHaveLength(2);

    // Fresh: perhaps a session about to listen, so only skipped.
    expect(await liveSockets(dir)).toEqual([server.path]);
    expect(await listSockets(dir)).toHaveLength(2);
    const old = new Date(Date.now() - 120_000);
    await lutimes(stale, old, old);
    expect(await liveSockets(dir)).toEqual([server.path]);
    expect(await listSockets(dir)).toEqual([server.path]);
  });
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error('condition not reached');
}
