import { describe, expect, test } from 'vitest';
import type { HeldEvent, SessionEvent, SessionInfoEvent, StatementEvent } from '../../src/live/events.js';
import {
  FEED_LIMIT,
  NOTICE_LIMIT,
  REASON_LIMIT,
  filteredFeed,
  initialState,
  reduce,
  visibleRows,
  type Action,
  type TuiState,
} from '../../src/tui/state.js';

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

function session(overrides: Partial<SessionInfoEvent> = {}): SessionInfoEvent {
  return {
    type: 'session',
    at: T0,
    session: 's-1',
    target: 'local',
    role: 'jit_alice_x1',
    identity: { sub: 'alice', email: 'alice@example.com', authenticated: true },
    expiresAt: T0 + 15 * 60_000,
    proxy: { host: '127.0.0.1', port: 54321 },
    approvalTimeoutMs: 120_000,
    ...overrides,
  };
}

function statement(n: number, overrides: Partial<StatementEvent> = {}): StatementEvent {
  return {
    type: 'statement',
    at: T0 + n,
    connection: 1,
    decision: 'allowed',
    sql: `SELECT ${n}`,
    ...overrides,
  };
}

function held(id: string, overrides: Partial<HeldEvent> = {}): HeldEvent {
  return {
    type: 'held',
    at: T0,
    id,
    connection: 2,
    sql: `DELETE FROM t_${id}`,
    fingerprint: `fp-${id}`,
    rule: 'unbounded-write',
    reason: 'no WHERE clause',
    deadline: T0 + 120_000,
    ...overrides,
  };
}

function run(state: TuiState, ...actions: Action[]): TuiState {
  return actions.reduce(reduce, state);
}

function withEvents(events: SessionEvent[], canDecide = true): TuiState {
  return reduce(initialState(T0, { canDecide }), { type: 'events', events });
}

describe('events', () => {
  test('counts every decision, masked statements and holds', () => {
    const state = withEvents([
      session(),
      statement(1),
      statement(2, { decision: 'blocked', rule: 'no-drop' }),
      statement(3, { decision: 'approved' }),
      statement(4, { decision: 'denied' }),
      statement(5, { decision: 'error', sqlstate: '42P01' }),
      statement(6, { masked: ['public.users.email'] }),
      statement(7, { masked: [] }),
      held('h1'),
    ]);
    expect(state.counts).toEqual({
      statements: 7,
      allowed: 3,
      blocked: 1,
      held: 1,
      approved: 1,
      denied: 1,
      errors: 1,
      masked: 1,
    });
    expect(state.feed.map((row) => row.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(state.session?.target).toBe('local');
  });

  test('the feed keeps the last FEED_LIMIT statements of a 10,000-statement burst; counts keep all', () => {
    const burst = Array.from({ length: 10_000 }, (_, i) => statement(i + 1));
    const oneAction = withEvents(burst);
    expect(oneAction.feed).toHaveLength(FEED_LIMIT);
    expect(oneAction.feed[0]?.statement.sql).toBe('SELECT 9001');
    expect(oneAction.feed.at(-1)?.seq).toBe(10_000);
    expect(oneAction.counts.statements).toBe(10_000);

    let batched = initialState(T0);
    for (let i = 0; i < burst.length; i += 7) {
      batched = reduce(batched, { type: 'events', events: burst.slice(i, i + 7) });
    }
    expect(batched.feed).toHaveLength(FEED_LIMIT);
    expect(batched.feed.map((row) => row.statement)).toEqual(oneAction.feed.map((row) => row.statement));
    expect(batched.counts).toEqual(oneAction.counts);
  });

  test('notices keep the last NOTICE_LIMIT', () => {
    const notices = Array.from({ length: 8 }, (_, i) => ({
      type: 'notice' as const,
      at: T0 + i,
      level: 'warn' as const,
      message: `n${i}`,
    }));
    const state = withEvents(notices);
    expect(state.notices.map((n) => n.message)).toEqual(['n3', 'n4', 'n5', 'n6', 'n7']);
    expect(state.notices).toHaveLength(NOTICE_LIMIT);
  });

  test('the warning window starts when an expiry is first seen, and again when it changes', () => {
    let state = withEvents([session({ at: T0 })]);
    expect(state.grantSince).toBe(T0);
    state = reduce(state, { type: 'events', events: [session({ at: T0 + 5000 })] });
    expect(state.grantSince).toBe(T0);
    state = reduce(state, {
      type: 'events',
      events: [session({ at: T0 + 9000, expiresAt: T0 + 3_600_000 })],
    });
    expect(state.grantSince).toBe(T0 + 9000);
  });

  test('ended records the reason and drops pending holds and unsent answers', () => {
    const state = withEvents([held('h1'), { type: 'ended', at: T0 + 1, reason: 'child exited with code 0' }]);
    expect(state.ended).toEqual({ at: T0 + 1, reason: 'child exited with code 0' });
    expect(state.pending).toEqual([]);
    expect(withEvents([{ type: 'ended', at: T0, reason: 'x' }, held('late')]).pending).toEqual([]);
  });

  test('an empty batch or an unchanged tick returns the same state', () => {
    const state = initialState(T0);
    expect(reduce(state, { type: 'events', events: [] })).toBe(state);
    expect(reduce(state, { type: 'tick', now: T0 })).toBe(state);
    expect(reduce(state, { type: 'tick', now: T0 + 1000 }).now).toBe(T0 + 1000);
  });

  test('the reducer does not change the state it is given', () => {
    const before = withEvents([session(), statement(1), held('h1'), held('h2')]);
    const copy = structuredClone(before);
    run(
      before,
      {
        type: 'events',
        events: [statement(2), { type: 'resolved', at: T0, id: 'h1', outcome: 'deny', approver: 'bob' }],
      },
      { type: 'scroll', to: 'up', viewport: 1 },
      { type: 'select', to: 'next' },
      { type: 'approve', scope: 'once' },
      { type: 'deny' },
      { type: 'cycle-filter' },
    );
    expect(before).toEqual(copy);
  });
});

describe('filter', () => {
  const events = [
    statement(1),
    statement(2, { decision: 'blocked' }),
    statement(3, { decision: 'approved' }),
    statement(4, { decision: 'denied' }),
    statement(5, { decision: 'error' }),
  ];

  test('cycles all → blocked (blocked, denied) → held (approved, denied) → errors → all', () => {
    let state = withEvents(events);
    const seen: [string, number[]][] = [];
    for (let i = 0; i < 5; i += 1) {
      seen.push([state.filter, filteredFeed(state).map((row) => row.seq)]);
      state = reduce(state, { type: 'cycle-filter' });
    }
    expect(seen).toEqual([
      ['all', [1, 2, 3, 4, 5]],
      ['blocked', [2, 4]],
      ['held', [3, 4]],
      ['errors', [5]],
      ['all', [1, 2, 3, 4, 5]],
    ]);
  });

  test('changing the filter follows the tail again', () => {
    const state = run(
      withEvents(events),
      { type: 'scroll', to: 'up', viewport: 2 },
      { type: 'cycle-filter' },
    );
    expect(state.scroll).toBe(0);
  });
});

describe('scrolling', () => {
  const fifty = withEvents(Array.from({ length: 50 }, (_, i) => statement(i + 1)));
  const seqs = (state: TuiState, height: number) => visibleRows(state, height).map((row) => row.seq);

  test('follows the tail; up/down move by one, pages by a viewport less one, top/bottom jump', () => {
    expect(seqs(fifty, 10)).toEqual([41, 42, 43, 44, 45, 46, 47, 48, 49, 50]);
    const up = reduce(fifty, { type: 'scroll', to: 'up', viewport: 10 });
    expect(seqs(up, 10)[0]).toBe(40);
    expect(reduce(up, { type: 'scroll', to: 'down', viewport: 10 }).scroll).toBe(0);
    expect(reduce(fifty, { type: 'scroll', to: 'page-up', viewport: 10 }).scroll).toBe(9);
    const top = reduce(fifty, { type: 'scroll', to: 'top', viewport: 10 });
    expect(seqs(top, 10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(reduce(top, { type: 'scroll', to: 'bottom', viewport: 10 }).scroll).toBe(0);
  });

  test('clamps at both ends', () => {
    expect(reduce(fifty, { type: 'scroll', to: 'down', viewport: 10 })).toBe(fifty);
    const top = reduce(fifty, { type: 'scroll', to: 'top', viewport: 10 });
    expect(reduce(top, { type: 'scroll', to: 'page-up', viewport: 10 })).toBe(top);
    expect(reduce(withEvents([statement(1)]), { type: 'scroll', to: 'up', viewport: 10 }).scroll).toBe(0);
  });

  test('a scrolled view stays on the same rows while statements arrive; a following view moves', () => {
    const scrolled = reduce(fifty, { type: 'scroll', to: 'page-up', viewport: 10 });
    const before = seqs(scrolled, 10);
    const after = reduce(scrolled, { type: 'events', events: [statement(51), statement(52)] });
    expect(seqs(after, 10)).toEqual(before);
    expect(seqs(reduce(fifty, { type: 'events', events: [statement(51)] }), 10).at(-1)).toBe(51);
  });

  test('statements the filter hides do not move a scrolled view', () => {
    const blockedOnly = run(
      withEvents(Array.from({ length: 30 }, (_, i) => statement(i + 1, { decision: 'blocked' }))),
      { type: 'cycle-filter' },
      { type: 'scroll', to: 'up', viewport: 5 },
    );
    const after = reduce(blockedOnly, { type: 'events', events: [statement(31)] });
    expect(after.scroll).toBe(1);
  });
});

describe('held statements', () => {
  test('are pending until resolved, once each, the first one selected', () => {
    let state = withEvents([held('h1'), held('h2'), held('h1')]);
    expect(state.pending.map((p) => p.held.id)).toEqual(['h1', 'h2']);
    expect(state.counts.held).toBe(2);
    expect(state.selected).toBe('h1');
    state = reduce(state, {
      type: 'events',
      events: [{ type: 'resolved', at: T0, id: 'h1', outcome: 'deny', approver: 'timeout' }],
    });
    expect(state.pending.map((p) => p.held.id)).toEqual(['h2']);
    expect(state.selected).toBe('h2');
  });

  test('n/p cycle the selection', () => {
    const state = withEvents([held('h1'), held('h2'), held('h3')]);
    const next = (s: TuiState) => reduce(s, { type: 'select', to: 'next' });
    const previous = (s: TuiState) => reduce(s, { type: 'select', to: 'previous' });
    expect(next(state).selected).toBe('h2');
    expect(next(next(next(state))).selected).toBe('h1');
    expect(previous(state).selected).toBe('h3');
  });

  test('approve puts a decision in the outbox and marks the hold as answered', () => {
    const state = reduce(withEvents([held('h1'), held('h2')]), { type: 'approve', scope: 'once' });
    expect(state.outbox).toEqual([{ id: 'h1', outcome: 'approve_once' }]);
    expect(state.pending.find((p) => p.held.id === 'h1')?.sent).toBe(true);
    expect(state.selected).toBe('h2');
    const fingerprint = reduce(withEvents([held('h1')]), { type: 'approve', scope: 'fingerprint' });
    expect(fingerprint.outbox).toEqual([{ id: 'h1', outcome: 'approve_fingerprint' }]);
    expect(reduce(fingerprint, { type: 'approve', scope: 'once' }).outbox).toHaveLength(1);
  });

  test('deny takes a reason: typed, erased, sent with Enter; Esc cancels; blank means none', () => {
    const start = reduce(withEvents([held('h1')]), { type: 'deny' });
    expect(start.input).toEqual({ mode: 'reason', id: 'h1', text: '' });
    const typed = run(
      start,
      { type: 'reason-type', text: 'not on ' },
      { type: 'reason-type', text: 'prodx' },
      { type: 'reason-erase' },
    );
    expect(typed.input).toEqual({ mode: 'reason', id: 'h1', text: 'not on prod' });
    expect(typed.outbox).toEqual([]);
    const sent = reduce(typed, { type: 'submit' });
    expect(sent.outbox).toEqual([{ id: 'h1', outcome: 'deny', reason: 'not on prod' }]);
    expect(sent.input).toEqual({ mode: 'keys' });

    const cancelled = reduce(typed, { type: 'cancel' });
    expect(cancelled.input).toEqual({ mode: 'keys' });
    expect(cancelled.outbox).toEqual([]);
    expect(cancelled.pending[0]?.sent).toBe(false);

    expect(run(start, { type: 'reason-type', text: '   ' }, { type: 'submit' }).outbox).toEqual([
      { id: 'h1', outcome: 'deny' },
    ]);
  });

  test('typed reasons lose control characters and stop at REASON_LIMIT', () => {
    const start = reduce(withEvents([held('h1')]), { type: 'deny' });
    const typed = reduce(start, { type: 'reason-type', text: 'a\u001b[2Jb\nc' });
    expect(typed.input).toEqual({ mode: 'reason', id: 'h1', text: 'a[2Jb c' });
    const long = reduce(start, { type: 'reason-type', text: 'x'.repeat(500) });
    expect(long.input.mode === 'reason' && long.input.text.length).toBe(REASON_LIMIT);
  });

  test('a view that may not decide puts nothing in the outbox', () => {
    const state = withEvents([held('h1')], false);
    expect(reduce(state, { type: 'approve', scope: 'once' })).toBe(state);
    expect(reduce(state, { type: 'deny' })).toBe(state);
    expect(reduce(state, { type: 'can-decide', value: true }).canDecide).toBe(true);
  });

  test('an answer the source refused removes the hold with a notice; one that failed can be retried', () => {
    const sent = reduce(withEvents([held('h1')]), { type: 'approve', scope: 'once' });
    const decision = sent.outbox[0];
    if (!decision) throw new Error('no decision');
    const refused = reduce(sent, { type: 'sent', results: [{ decision, accepted: false }] });
    expect(refused.outbox).toEqual([]);
    expect(refused.pending).toEqual([]);
    expect(refused.notices.at(-1)?.message).toMatch(/no longer pending/);

    const failed = reduce(sent, {
      type: 'sent',
      results: [{ decision, accepted: false, error: 'socket closed' }],
    });
    expect(failed.pending[0]?.sent).toBe(false);
    expect(failed.notices.at(-1)?.message).toMatch(/socket closed/);

    const accepted = reduce(sent, { type: 'sent', results: [{ decision, accepted: true }] });
    expect(accepted.outbox).toEqual([]);
    expect(accepted.pending[0]?.sent).toBe(true);
  });

  test('a hold answered elsewhere while a reason is typed ends the typing with a notice', () => {
    const typing = run(withEvents([held('h1')]), { type: 'deny' }, { type: 'reason-type', text: 'no' });
    const state = reduce(typing, {
      type: 'events',
      events: [{ type: 'resolved', at: T0, id: 'h1', outcome: 'approve_once', approver: 'bob@example.com' }],
    });
    expect(state.input).toEqual({ mode: 'keys' });
    expect(state.notices.at(-1)?.message).toMatch(/already answered \(approve once by bob@example.com\)/);
  });
});
