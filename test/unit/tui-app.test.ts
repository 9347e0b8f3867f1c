/**
 * The Ink live view driven through its real input, a LiveSource: a fake one here, since the
 * source interface is the view's whole input. Written with createElement so it runs under the
 * suite's `*.test.ts` include.
 */
import { EventEmitter } from 'node:events';
import { createElement as h } from 'react';
import { render } from 'ink-testing-library';
import { afterAll, afterEach, describe, expect, test, vi } from 'vitest';
import type {
  Decision,
  HeldEvent,
  LiveSource,
  SessionEvent,
  SessionInfoEvent,
  StatementEvent,
} from '../../src/live/events.js';
import { App, type AppProps } from '../../src/tui/App.js';
import { startTui } from '../../src/tui/render.js';

// Chalk decides its colour level when it is first imported; force it on so that "no colour" is
// something a test can see fail. Restored afterwards for anything sharing this process.
const forceColor = vi.hoisted(() => {
  const before = process.env.FORCE_COLOR;
  process.env.FORCE_COLOR = '1';
  return before;
});
afterAll(() => {
  if (forceColor === undefined) delete process.env.FORCE_COLOR;
  else process.env.FORCE_COLOR = forceColor;
});

const NOW = new Date(2025, 0, 1, 12, 0, 0).getTime();
const ANSI = '\u001b[';
const UP = '\u001B[A';
const PAGE_UP = '\u001B[5~';
const ESC = '\u001B';
const ENTER = '\r';
const BACKSPACE = '\u007f';
const CTRL_C = '\u0003';

class FakeSource implements LiveSource {
  readonly listeners = new Set<(events: SessionEvent[]) => void>();
  readonly decisions: Decision[] = [];
  accept = true;
  constructor(
    private readonly initial: SessionEvent[],
    public canDecide = true,
  ) {}
  snapshot(): SessionEvent[] {
    return [...this.initial];
  }
  subscribe(listener: (events: SessionEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  decide(decision: Decision): boolean {
    this.decisions.push(decision);
    return this.accept;
  }
  emit(...events: SessionEvent[]): void {
    for (const listener of this.listeners) listener(events);
  }
}

function session(overrides: Partial<SessionInfoEvent> = {}): SessionInfoEvent {
  return {
    type: 'session',
    at: NOW,
    session: 's-7f3a',
    target: 'local',
    role: 'jit_alice_k2x9',
    identity: { sub: 'alice', email: 'alice@example.com', authenticated: true },
    expiresAt: NOW + 15 * 60_000,
    proxy: { host: '127.0.0.1', port: 54321 },
    approvalTimeoutMs: 120_000,
    ...overrides,
  };
}

function statement(n: number, overrides: Partial<StatementEvent> = {}): StatementEvent {
  return {
    type: 'statement',
    at: NOW + n * 1000,
    connection: 1,
    decision: 'allowed',
    sql: `SELECT ${n}`,
    durationMs: 2,
    rows: 1,
    ...overrides,
  };
}

function held(id: string, overrides: Partial<HeldEvent> = {}): HeldEvent {
  return {
    type: 'held',
    at: NOW - 12_000,
    id,
    connection: 3,
    sql: `DELETE FROM orders_${id}`,
    fingerprint: `fp-${id}`,
    rule: 'unbounded-write',
    reason: 'DELETE without a WHERE clause',
    deadline: NOW + 108_000,
    ...overrides,
  };
}

const settle = (ms = 40) => new Promise((resolve) => setTimeout(resolve, ms));

const mounted: { unmount: () => void }[] = [];
afterEach(() => {
  for (const view of mounted.splice(0)) view.unmount();
});

/** Renders the view at 80×24 without colour, on a clock the test moves. */
async function view(source: FakeSource, props: Partial<AppProps> = {}) {
  const clock = { now: NOW };
  const onQuit = vi.fn();
  const app = render(
    h(App, {
      source,
      onQuit,
      color: false,
      width: 80,
      height: 24,
      clock: () => clock.now,
      batchMs: 5,
      tickMs: 5,
      ...props,
    }),
  );
  mounted.push(app);
  await settle();
  const frame = () => app.lastFrame() ?? '';
  const press = async (...keys: string[]) => {
    for (const key of keys) {
      app.stdin.write(key);
      await settle(15);
    }
    await settle();
  };
  return { app, clock, onQuit, frame, press, lines: () => frame().split('\n') };
}

describe('feed', () => {
  test('one row per statement at 80 columns: time, connection, decision, rule, ms, rows, masked, SQL cut to fit', async () => {
    const long = `SELECT id, email, phone, name FROM public.customers WHERE org_id = $1 AND id = $2`;
    const source = new FakeSource([
      session(),
      statement(1, {
        connection: 12,
        decision: 'blocked',
        rule: 'server-side-io',
        sql: long,
        durationMs: 4.4,
        rows: 250,
        masked: ['public.customers.email', 'public.customers.phone'],
      }),
    ]);
    const { lines } = await view(source);
    const row = lines().find((line) => line.includes('#12'));
    expect(row).toBe('12:00:01 #12  blocked  server-sid…     4   250   2 SELECT id, email, phone, nam…');
    expect(Array.from(row ?? '')).toHaveLength(80);
    for (const line of lines()) expect(Array.from(line).length).toBeLessThanOrEqual(80);
    expect(lines().length).toBeLessThanOrEqual(23);
  });

  test('decisions are words, and untrusted SQL cannot send escape sequences', async () => {
    const hostile = 'SELECT 1;\u001b[2J\u001b[HDROP\u202eX';
    const source = new FakeSource([
      session(),
      statement(1, { decision: 'approved', sql: hostile }),
      statement(2, { decision: 'error', sqlstate: '42P01' }),
      held('h1', { sql: hostile }),
    ]);
    const { frame } = await view(source);
    expect(frame()).toContain('approved');
    expect(frame()).toContain('error');
    expect(frame()).toContain(' - SELECT 1;\\x1b[2J\\x1b[HDROP\\u…');
    expect(frame()).toContain('  SELECT 1;\\x1b[2J\\x1b[HDROP\\u202eX');
    expect(frame()).not.toContain(ANSI);
    expect(frame()).not.toContain('\u202e');
  });

  test('counts in the header and footer', async () => {
    const source = new FakeSource([
      session(),
      statement(1),
      statement(2, { decision: 'blocked' }),
      statement(3, { decision: 'denied' }),
      statement(4, { decision: 'approved', masked: ['public.users.email'] }),
      statement(5, { decision: 'error' }),
      held('h1'),
    ]);
    const { frame } = await view(source);
    expect(frame()).toContain('5 statements');
    expect(frame()).toContain('allowed 1  blocked 1  held 1  approved 1  denied 1  errors 1  masked 1');
    source.emit(statement(6), statement(7));
    await settle();
    expect(frame()).toContain('7 statements');
    expect(frame()).toContain('allowed 3  blocked 1');
  });

  test('f cycles the filter: blocked+denied, held (approved+denied), errors, all', async () => {
    const source = new FakeSource([
      session(),
      statement(1, { sql: 'SELECT allowed_one' }),
      statement(2, { decision: 'blocked', sql: 'DROP blocked_one' }),
      statement(3, { decision: 'approved', sql: 'DELETE approved_one' }),
      statement(4, { decision: 'denied', sql: 'DELETE denied_one' }),
      statement(5, { decision: 'error', sql: 'SELECT error_one' }),
    ]);
    const { frame, press } = await view(source);
    const shown = () =>
      ['allowed_one', 'blocked_one', 'approved_one', 'denied_one', 'error_one'].filter((s) =>
        frame().includes(s),
      );
    expect(shown()).toHaveLength(5);
    await press('f');
    expect(frame()).toContain('filter: blocked');
    expect(shown()).toEqual(['blocked_one', 'denied_one']);
    await press('f');
    expect(shown()).toEqual(['approved_one', 'denied_one']);
    await press('f');
    expect(shown()).toEqual(['error_one']);
    await press('f');
    expect(frame()).toContain('filter: all');
    expect(shown()).toHaveLength(5);
  });

  test('follows the tail; ↑, PgUp, g and G scroll; a scrolled view holds still while statements arrive', async () => {
    const source = new FakeSource([session(), ...Array.from({ length: 60 }, (_, i) => statement(i + 1))]);
    const { frame, press } = await view(source);
    const sqls = () => [...frame().matchAll(/SELECT (\d+)/g)].map((m) => Number(m[1]));
    const tail = sqls();
    expect(tail.at(-1)).toBe(60);
    const height = tail.length;
    expect(height).toBeGreaterThan(10);

    await press(UP);
    expect(sqls().at(-1)).toBe(59);
    expect(frame()).toContain('scrolled, G follows');
    await press(PAGE_UP);
    expect(sqls().at(-1)).toBe(59 - (height - 1));
    await press('g');
    expect(sqls()[0]).toBe(1);
    expect(sqls()).toHaveLength(height);

    source.emit(statement(61), statement(62));
    await settle();
    expect(sqls()[0]).toBe(1);

    await press('G');
    expect(sqls().at(-1)).toBe(62);
    expect(frame()).not.toContain('scrolled');
    source.emit(statement(63));
    await settle();
    expect(sqls().at(-1)).toBe(63);
  });

  test('a burst of 10,000 statements renders the totals and keeps only the ring', async () => {
    const source = new FakeSource([session()]);
    const { frame, press } = await view(source, { batchMs: 50 });
    for (let i = 1; i <= 10_000; i += 1) source.emit(statement(i));
    await settle(150);
    expect(frame()).toContain('10000 statements');
    expect(frame()).toContain('allowed 10000');
    expect(frame()).toContain('SELECT 10000');
    await press('g');
    expect(frame()).toContain('SELECT 9001\n');
    expect(frame()).not.toContain('SELECT 9000\n');
  });
});

describe('header', () => {
  test('identity, target, role, proxy and a countdown that warns near the end and says expired after', async () => {
    const source = new FakeSource([session()]);
    const { frame, clock, lines } = await view(source);
    expect(lines()[0]).toMatch(/^jit alice@example\.com · local · role jit_alice_k2x9 +expires in 15:00$/);
    expect(lines()[1]).toContain('proxy 127.0.0.1:54321');

    clock.now = NOW + 13 * 60_000 - 1000;
    await settle();
    expect(frame()).toContain('expires in 02:01');
    expect(frame()).not.toContain('! expires');

    clock.now = NOW + 13 * 60_000 + 30_000;
    await settle();
    expect(frame()).toContain('! expires in 01:30');

    clock.now = NOW + 15 * 60_000;
    await settle();
    expect(frame()).toContain('! grant expired');
  });

  test('long grants count h:mm:ss and warn in their last 10 %', async () => {
    const source = new FakeSource([session({ expiresAt: NOW + 2 * 3_600_000 })]);
    const { frame, clock } = await view(source);
    expect(frame()).toContain('expires in 2:00:00');
    clock.now = NOW + 2 * 3_600_000 - 13 * 60_000;
    await settle();
    expect(frame()).toContain('expires in 13:00');
    expect(frame()).not.toContain('! expires');
    clock.now = NOW + 2 * 3_600_000 - 11 * 60_000;
    await settle();
    expect(frame()).toContain('! expires in 11:00');
  });

  test('an unauthenticated identity is marked in words', async () => {
    const source = new FakeSource([session({ identity: { sub: 'dev', authenticated: false } })]);
    const { lines } = await view(source);
    expect(lines()[0]).toContain('jit dev (unauthenticated) · local');
  });

  test('the warning is yellow with colour on, and stays a "!" without', async () => {
    const source = new FakeSource([session({ expiresAt: NOW + 60_000 })]);
    const coloured = await view(source, { color: true });
    expect(coloured.frame()).toContain('\u001b[33m! expires in 01:00');
    const plain = await view(new FakeSource([session({ expiresAt: NOW + 60_000 })]));
    expect(plain.frame()).toContain('! expires in 01:00');
  });
});

describe('held statements', () => {
  test('the prompt shows the statement, rule, reason, connection, time waited and time left', async () => {
    const source = new FakeSource([session(), held('h1')]);
    const { frame } = await view(source);
    expect(frame()).toContain('── held for approval · conn #3 · rule unbounded-write ─');
    expect(frame()).toContain('  DELETE FROM orders_h1');
    expect(frame()).toContain('reason: DELETE without a WHERE clause');
    expect(frame()).toContain('waited 00:12 · denied in 01:48 if nobody answers');
    expect(frame()).toContain('a approve once · A approve this fingerprint · d deny');
  });

  test('a approves once, and the prompt goes when the statement is resolved', async () => {
    const source = new FakeSource([session(), held('h1')]);
    const { frame, press } = await view(source);
    await press('a');
    expect(source.decisions).toEqual([{ id: 'h1', outcome: 'approve_once' }]);
    expect(frame()).toContain('answer sent; waiting for the session to confirm');
    await press('a');
    expect(source.decisions).toHaveLength(1);
    source.emit({ type: 'resolved', at: NOW, id: 'h1', outcome: 'approve_once', approver: 'alice' });
    await settle();
    expect(frame()).not.toContain('held for approval');
  });

  test('A approves the fingerprint for the session', async () => {
    const source = new FakeSource([session(), held('h1')]);
    const { press } = await view(source);
    await press('A');
    expect(source.decisions).toEqual([{ id: 'h1', outcome: 'approve_fingerprint' }]);
  });

  test('d takes a reason (backspace edits, q is just a letter) and Enter sends the denial', async () => {
    const source = new FakeSource([session(), held('h1')]);
    const { frame, press, onQuit } = await view(source);
    await press('d');
    expect(frame()).toContain('deny, reason: _  Enter send · Esc cancel');
    await press('not in prod!', BACKSPACE, ' q');
    expect(frame()).toContain('deny, reason: not in prod q_');
    expect(onQuit).not.toHaveBeenCalled();
    expect(source.decisions).toEqual([]);
    await press(ENTER);
    expect(source.decisions).toEqual([{ id: 'h1', outcome: 'deny', reason: 'not in prod q' }]);
  });

  test('Esc cancels the denial and nothing is sent', async () => {
    const source = new FakeSource([session(), held('h1')]);
    const { frame, press } = await view(source);
    await press('d', 'nope', ESC);
    expect(frame()).toContain('a approve once');
    expect(frame()).not.toContain('deny, reason');
    await press(ENTER);
    expect(source.decisions).toEqual([]);
  });

  test('n and p switch between pending statements; a answers the one shown', async () => {
    const source = new FakeSource([session(), held('h1'), held('h2', { connection: 4 })]);
    const { frame, press } = await view(source);
    expect(frame()).toContain('held for approval 1 of 2 · conn #3');
    await press('n');
    expect(frame()).toContain('held for approval 2 of 2 · conn #4');
    expect(frame()).toContain('DELETE FROM orders_h2');
    await press('a');
    expect(source.decisions).toEqual([{ id: 'h2', outcome: 'approve_once' }]);
    expect(frame()).toContain('held for approval 1 of 2 · conn #3');
    await press('p');
    expect(frame()).toContain('held for approval 2 of 2');
  });

  test('a long statement is capped with … and v shows more of it', async () => {
    const sql = Array.from({ length: 12 }, (_, i) => `  OR id = ${i}`).join('\n');
    const source = new FakeSource([session(), held('h1', { sql: `DELETE FROM t WHERE false\n${sql}` })]);
    const { frame, press } = await view(source);
    expect(frame()).toContain('· 9 more lines');
    expect(frame()).toContain('    OR id = 2…');
    expect(frame()).not.toContain('OR id = 3');
    await press('v');
    expect(frame()).toContain('OR id = 11');
    expect(frame()).not.toContain('more lines');
    await press('v');
    expect(frame()).not.toContain('OR id = 3');
  });

  test('without canDecide the statement shows with a note and no key answers it', async () => {
    const source = new FakeSource([session(), held('h1')], false);
    const { frame, press } = await view(source);
    expect(frame()).toContain('DELETE FROM orders_h1');
    expect(frame()).toContain('approvals need a paired `jit watch`; this view cannot answer');
    await press('a', 'A', 'd', 'x', ENTER);
    expect(source.decisions).toEqual([]);
    expect(frame()).not.toContain('deny, reason');
  });

  test('an answer the source refuses says so and removes the prompt', async () => {
    const source = new FakeSource([session(), held('h1')]);
    source.accept = false;
    const { frame, press } = await view(source);
    await press('a');
    expect(source.decisions).toHaveLength(1);
    expect(frame()).not.toContain('held for approval');
    expect(frame()).toContain('! held statement h1 was no longer pending');
  });

  test('a held statement arriving live shows the prompt', async () => {
    const source = new FakeSource([session()]);
    const { frame } = await view(source);
    expect(frame()).not.toContain('held for approval');
    source.emit(held('h9'));
    await settle();
    expect(frame()).toContain('DELETE FROM orders_h9');
  });
});

describe('footer, end and quitting', () => {
  test('notices show on one line', async () => {
    const source = new FakeSource([session()]);
    const { frame } = await view(source);
    source.emit({
      type: 'notice',
      at: NOW,
      level: 'warn',
      message: 'someone tried to pair with a wrong code',
    });
    await settle();
    expect(frame()).toContain('12:00:00 ! someone tried to pair with a wrong code');
  });

  test('the end of the session stays on screen until q, which calls onQuit', async () => {
    const source = new FakeSource([session(), held('h1')]);
    const { frame, press, onQuit } = await view(source);
    source.emit({ type: 'ended', at: NOW, reason: 'the child exited with code 0' });
    await settle(60);
    expect(frame()).toContain('session ended: the child exited with code 0 · q to close');
    expect(frame()).not.toContain('held for approval');
    expect(onQuit).not.toHaveBeenCalled();
    await press('q');
    expect(onQuit).toHaveBeenCalledTimes(1);
  });

  test('Ctrl-C calls onQuit, also while typing a reason', async () => {
    const source = new FakeSource([session(), held('h1')]);
    const { press, onQuit } = await view(source);
    await press('d', 'x', CTRL_C);
    expect(onQuit).toHaveBeenCalledTimes(1);
  });
});

describe('colour', () => {
  const events = () => [
    session({ identity: { sub: 'dev', authenticated: false }, expiresAt: NOW + 30_000 }),
    statement(1),
    statement(2, { decision: 'blocked', masked: ['public.users.email'] }),
    held('h1'),
    { type: 'notice', at: NOW, level: 'warn', message: 'x' } as const,
  ];

  test('color=false writes no ANSI codes at all; color=true does', async () => {
    const plain = await view(new FakeSource(events()), { color: false });
    expect(plain.frame()).toContain('blocked');
    expect(plain.frame()).not.toContain(ANSI);
    const coloured = await view(new FakeSource(events()), { color: true });
    expect(coloured.frame()).toContain(ANSI);
  });

  test('by default colour follows NO_COLOR', async () => {
    vi.stubEnv('NO_COLOR', '1');
    try {
      const plain = await view(new FakeSource(events()), { color: undefined });
      expect(plain.frame()).not.toContain(ANSI);
    } finally {
      vi.unstubAllEnvs();
    }
    vi.stubEnv('NO_COLOR', '');
    try {
      const coloured = await view(new FakeSource(events()), { color: undefined });
      expect(coloured.frame()).toContain(ANSI);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

/** A terminal-like output stream of 80×24. */
class FakeTerminal extends EventEmitter {
  readonly isTTY = true;
  columns = 80;
  rows = 24;
  output = '';
  write = (chunk: string) => {
    this.output += chunk;
    return true;
  };
}

/** A TTY-like input stream, as Ink reads it ('readable' then read()). */
class FakeKeyboard extends EventEmitter {
  readonly isTTY = true;
  private data: string | null = null;
  setEncoding() {}
  setRawMode() {
    return this;
  }
  resume() {}
  pause() {}
  ref() {}
  unref() {}
  read = () => {
    const data = this.data;
    this.data = null;
    return data;
  };
  type(data: string) {
    this.data = data;
    this.emit('readable');
  }
}

describe('startTui', () => {
  test('renders to the given streams, answers from its stdin, and stop() unsubscribes and unmounts', async () => {
    const source = new FakeSource([session(), statement(1, { sql: 'SELECT from_start_tui' }), held('h1')]);
    const stdout = new FakeTerminal();
    const stdin = new FakeKeyboard();
    const onQuit = vi.fn();
    const tui = startTui(source, {
      stdout: stdout as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
      color: false,
      onQuit,
      clock: () => NOW,
    });
    await settle(60);
    expect(source.listeners.size).toBe(1);
    stdin.type('A');
    await settle(60);
    expect(source.decisions).toEqual([{ id: 'h1', outcome: 'approve_fingerprint' }]);
    stdin.type('q');
    await settle(60);
    expect(onQuit).toHaveBeenCalledTimes(1);

    let exited = false;
    const exit = tui.waitUntilExit().then(() => {
      exited = true;
    });
    expect(exited).toBe(false);
    tui.stop();
    tui.stop();
    await exit;
    expect(source.listeners.size).toBe(0);
    expect(stdout.output).toContain('SELECT from_start_tui');
    expect(stdout.output).toContain('expires in 15:00');
  });
});
