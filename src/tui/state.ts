/**
 * The live view's state: a pure reducer over session events, clock ticks and keys. It performs no
 * decisions itself; answering a held statement appends to `outbox`, which the component hands to
 * `LiveSource.decide` and acknowledges with a `sent` action.
 */
import type {
  Decision,
  HeldEvent,
  SessionEvent,
  SessionInfoEvent,
  StatementDecision,
  StatementEvent,
} from '../live/events.js';

/** How many finished statements the feed keeps (older ones are dropped; counts keep growing). */
export const FEED_LIMIT = 1000;
/** How many notices are kept (the footer shows the newest). */
export const NOTICE_LIMIT = 5;
/** The longest deny reason a person can type. */
export const REASON_LIMIT = 200;

/** The feed filters, in the order `f` cycles through them. */
export const FILTERS = ['all', 'blocked', 'held', 'errors'] as const;
/** Which statements the feed shows. */
export type Filter = (typeof FILTERS)[number];

/** The decisions each filter shows: blocked = refused (blocked or denied); held = answered by a person or timeout. */
const FILTER_DECISIONS: Record<Filter, readonly StatementDecision[] | undefined> = {
  all: undefined,
  blocked: ['blocked', 'denied'],
  held: ['approved', 'denied'],
  errors: ['error'],
};

/** One finished statement in the feed; `seq` counts every statement seen, so it survives the ring's turnover. */
export interface FeedRow {
  seq: number;
  statement: StatementEvent;
}

/** Running totals since the view started (including what the snapshot held). */
export interface Counts {
  statements: number;
  allowed: number;
  blocked: number;
  /** Statements that were held for approval (each hold once). */
  held: number;
  approved: number;
  denied: number;
  errors: number;
  /** Statements whose results had at least one masked column. */
  masked: number;
}

/** Something to show on one line in the footer. */
export interface Notice {
  at: number;
  level: 'info' | 'warn';
  message: string;
}

/** A statement waiting for a human; `sent` once this view has answered it and awaits `resolved`. */
export interface PendingHold {
  held: HeldEvent;
  sent: boolean;
}

/** What typed keys mean: commands, or the text of a deny reason for one held statement. */
export type InputMode = { mode: 'keys' } | { mode: 'reason'; id: string; text: string };

/** Where the feed is scrolled to. */
export type ScrollTarget = 'up' | 'down' | 'page-up' | 'page-down' | 'top' | 'bottom';

/** Everything the view shows, derived only from events, ticks and keys. */
export interface TuiState {
  /** Epoch ms of the last tick (the view's clock). */
  now: number;
  /** Whether this view may answer held statements; when false, answer actions do nothing. */
  canDecide: boolean;
  session?: SessionInfoEvent;
  /** Epoch ms the current expiry was first seen: the start of the countdown's 10 % warning window. */
  grantSince?: number;
  feed: readonly FeedRow[];
  counts: Counts;
  pending: readonly PendingHold[];
  /** The held statement the prompt shows. */
  selected?: string;
  notices: readonly Notice[];
  ended?: { at: number; reason: string };
  /** Feed rows (after filtering) between the bottom of the view and the newest row; 0 follows the tail. */
  scroll: number;
  filter: Filter;
  input: InputMode;
  /** Whether the held prompt shows as much of the statement as the screen allows. */
  expanded: boolean;
  /** Decisions made here and not yet handed to the source. */
  outbox: readonly Decision[];
}

/** The outcome of handing one decision to the source. */
export interface SendResult {
  decision: Decision;
  accepted: boolean;
  /** Why sending failed, when it threw. */
  error?: string;
}

/** Events from the source, clock ticks, and what keys ask for. */
export type Action =
  | { type: 'events'; events: readonly SessionEvent[] }
  | { type: 'tick'; now: number }
  | { type: 'scroll'; to: ScrollTarget; viewport: number }
  | { type: 'cycle-filter' }
  | { type: 'select'; to: 'next' | 'previous' }
  | { type: 'approve'; scope: 'once' | 'fingerprint' }
  | { type: 'deny' }
  | { type: 'reason-type'; text: string }
  | { type: 'reason-erase' }
  | { type: 'cancel' }
  | { type: 'submit' }
  | { type: 'toggle-expand' }
  | { type: 'sent'; results: readonly SendResult[] }
  | { type: 'can-decide'; value: boolean };

const ZERO_COUNTS: Counts = {
  statements: 0,
  allowed: 0,
  blocked: 0,
  held: 0,
  approved: 0,
  denied: 0,
  errors: 0,
  masked: 0,
};

const KEYS: InputMode = { mode: 'keys' };

/** The state before any event: nothing known, following the tail, all statements shown. */
export function initialState(now: number, options: { canDecide?: boolean } = {}): TuiState {
  return {
    now,
    canDecide: options.canDecide ?? false,
    feed: [],
    counts: ZERO_COUNTS,
    pending: [],
    notices: [],
    scroll: 0,
    filter: 'all',
    input: KEYS,
    expanded: false,
    outbox: [],
  };
}

/** Whether a statement passes the current filter. */
export function matchesFilter(filter: Filter, statement: StatementEvent): boolean {
  const decisions = FILTER_DECISIONS[filter];
  return decisions === undefined || decisions.includes(statement.decision);
}

/** The feed rows the filter lets through, oldest first. */
export function filteredFeed(state: TuiState): readonly FeedRow[] {
  return state.filter === 'all'
    ? state.feed
    : state.feed.filter((row) => matchesFilter(state.filter, row.statement));
}

/** The rows a viewport of `height` rows shows: the tail, or where the person scrolled to (never a short page). */
export function visibleRows(state: TuiState, height: number): readonly FeedRow[] {
  if (height <= 0) return [];
  const rows = filteredFeed(state);
  const end = Math.min(rows.length, Math.max(rows.length - state.scroll, Math.min(height, rows.length)));
  return rows.slice(Math.max(0, end - height), end);
}

/** The held statement the prompt shows, if any. */
export function selectedHold(state: TuiState): PendingHold | undefined {
  return state.pending.find((p) => p.held.id === state.selected) ?? state.pending[0];
}

/** The next state. Pure: the same state and action always give the same result. */
export function reduce(state: TuiState, action: Action): TuiState {
  switch (action.type) {
    case 'events':
      return applyEvents(state, action.events);
    case 'tick':
      return action.now === state.now ? state : { ...state, now: action.now };
    case 'scroll':
      return scroll(state, action.to, action.viewport);
    case 'cycle-filter': {
      const next = FILTERS[(FILTERS.indexOf(state.filter) + 1) % FILTERS.length] ?? 'all';
      return { ...state, filter: next, scroll: 0 };
    }
    case 'select':
      return select(state, action.to);
    case 'approve': {
      const hold = answerable(state);
      if (!hold || state.input.mode !== 'keys') return state;
      const outcome = action.scope === 'once' ? 'approve_once' : 'approve_fingerprint';
      return send(state, { id: hold.held.id, outcome });
    }
    case 'deny': {
      const hold = answerable(state);
      if (!hold || state.input.mode !== 'keys') return state;
      return { ...state, input: { mode: 'reason', id: hold.held.id, text: '' } };
    }
    case 'reason-type': {
      if (state.input.mode !== 'reason') return state;
      const text = (state.input.text + typedText(action.text)).slice(0, REASON_LIMIT);
      return text === state.input.text ? state : { ...state, input: { ...state.input, text } };
    }
    case 'reason-erase': {
      if (state.input.mode !== 'reason' || state.input.text === '') return state;
      const text = Array.from(state.input.text).slice(0, -1).join('');
      return { ...state, input: { ...state.input, text } };
    }
    case 'cancel':
      return state.input.mode === 'keys' ? state : { ...state, input: KEYS };
    case 'submit': {
      if (state.input.mode !== 'reason') return state;
      const { id, text } = state.input;
      const reason = text.trim();
      return send({ ...state, input: KEYS }, { id, outcome: 'deny', ...(reason ? { reason } : {}) });
    }
    case 'toggle-expand':
      return { ...state, expanded: !state.expanded };
    case 'sent':
      return acknowledge(state, action.results);
    case 'can-decide':
      return action.value === state.canDecide
        ? state
        : { ...state, canDecide: action.value, input: action.value ? state.input : KEYS };
    default:
      throw new Error(`unexpected TUI action ${JSON.stringify(action satisfies never)}`);
  }
}

function applyEvents(state: TuiState, events: readonly SessionEvent[]): TuiState {
  if (events.length === 0) return state;
  let { session, grantSince, pending, notices, ended, input, outbox, scroll } = state;
  const counts = { ...state.counts };
  const added: FeedRow[] = [];
  let seq = state.counts.statements;
  for (const event of events) {
    switch (event.type) {
      case 'session':
        if (session?.expiresAt !== event.expiresAt) grantSince = event.at;
        session = event;
        break;
      case 'statement':
        seq += 1;
        counts.statements += 1;
        counts[COUNT_OF[event.decision]] += 1;
        if (event.masked && event.masked.length > 0) counts.masked += 1;
        added.push({ seq, statement: event });
        if (scroll > 0 && matchesFilter(state.filter, event)) scroll += 1;
        break;
      case 'held':
        if (ended || pending.some((p) => p.held.id === event.id)) break;
        counts.held += 1;
        pending = [...pending, { held: event, sent: false }];
        break;
      case 'resolved':
        if (!pending.some((p) => p.held.id === event.id)) break;
        pending = pending.filter((p) => p.held.id !== event.id);
        if (input.mode === 'reason' && input.id === event.id) {
          input = KEYS;
          notices = pushNotice(notices, {
            at: event.at,
            level: 'warn',
            message: `the statement you were denying was already answered (${event.outcome.replace('_', ' ')} by ${event.approver})`,
          });
        }
        break;
      case 'notice':
        notices = pushNotice(notices, { at: event.at, level: event.level, message: event.message });
        break;
      case 'ended':
        ended = { at: event.at, reason: event.reason };
        pending = [];
        input = KEYS;
        outbox = [];
        break;
      default:
        // Events from a newer session (over the control socket) that this view does not know: ignore.
        break;
    }
  }
  const feed = added.length === 0 ? state.feed : appendRing(state.feed, added);
  const expanded = state.expanded && pending.length > 0;
  const next = {
    ...state,
    session,
    grantSince,
    feed,
    counts,
    pending,
    notices,
    ended,
    input,
    outbox,
    scroll,
    expanded,
  };
  return { ...next, selected: pickSelected(pending, state.selected) };
}

const COUNT_OF: Record<StatementDecision, keyof Counts> = {
  allowed: 'allowed',
  blocked: 'blocked',
  approved: 'approved',
  denied: 'denied',
  error: 'errors',
};

function appendRing(feed: readonly FeedRow[], added: readonly FeedRow[]): readonly FeedRow[] {
  if (added.length >= FEED_LIMIT) return added.slice(added.length - FEED_LIMIT);
  const keep = Math.max(0, feed.length + added.length - FEED_LIMIT);
  return [...feed.slice(keep), ...added];
}

function pushNotice(notices: readonly Notice[], notice: Notice): readonly Notice[] {
  return [...notices, notice].slice(-NOTICE_LIMIT);
}

/** Keeps the selection on a pending statement: the same one if still there, else the first. */
function pickSelected(pending: readonly PendingHold[], selected: string | undefined): string | undefined {
  if (selected !== undefined && pending.some((p) => p.held.id === selected)) return selected;
  return pending.find((p) => !p.sent)?.held.id ?? pending[0]?.held.id;
}

function scroll(state: TuiState, to: ScrollTarget, viewport: number): TuiState {
  const page = Math.max(1, viewport - 1);
  const max = Math.max(0, filteredFeed(state).length - Math.max(1, viewport));
  const by: Record<ScrollTarget, number> = {
    up: state.scroll + 1,
    down: state.scroll - 1,
    'page-up': state.scroll + page,
    'page-down': state.scroll - page,
    top: max,
    bottom: 0,
  };
  const next = Math.min(max, Math.max(0, by[to]));
  return next === state.scroll ? state : { ...state, scroll: next };
}

function select(state: TuiState, to: 'next' | 'previous'): TuiState {
  if (state.pending.length < 2 || state.input.mode !== 'keys') return state;
  const index = state.pending.findIndex((p) => p.held.id === state.selected);
  const step = to === 'next' ? 1 : state.pending.length - 1;
  const next = state.pending[(Math.max(0, index) + step) % state.pending.length];
  return next ? { ...state, selected: next.held.id, expanded: false } : state;
}

/** The selected held statement, when this view may answer it and has not yet. */
function answerable(state: TuiState): PendingHold | undefined {
  if (!state.canDecide || state.ended) return undefined;
  const hold = selectedHold(state);
  return hold && !hold.sent ? hold : undefined;
}

function send(state: TuiState, decision: Decision): TuiState {
  if (!state.pending.some((p) => p.held.id === decision.id && !p.sent)) return state;
  const pending = state.pending.map((p) => (p.held.id === decision.id ? { ...p, sent: true } : p));
  const waiting = pending.find((p) => !p.sent);
  return {
    ...state,
    pending,
    selected: waiting?.held.id ?? decision.id,
    expanded: false,
    outbox: [...state.outbox, decision],
  };
}

function acknowledge(state: TuiState, results: readonly SendResult[]): TuiState {
  if (results.length === 0) return state;
  const handed = new Set(results.map((r) => r.decision));
  const outbox = state.outbox.filter((d) => !handed.has(d));
  let { pending, notices } = state;
  for (const result of results) {
    if (result.accepted || state.ended) continue;
    const id = result.decision.id;
    if (result.error === undefined) {
      // The source says it is no longer pending (answered elsewhere, timed out, connection gone).
      pending = pending.filter((p) => p.held.id !== id);
      notices = pushNotice(notices, {
        at: state.now,
        level: 'warn',
        message: `held statement ${id} was no longer pending; your answer was not used`,
      });
    } else {
      pending = pending.map((p) => (p.held.id === id ? { ...p, sent: false } : p));
      notices = pushNotice(notices, {
        at: state.now,
        level: 'warn',
        message: `could not send your answer for ${id}: ${result.error}`,
      });
    }
  }
  return { ...state, outbox, pending, notices, selected: pickSelected(pending, state.selected) };
}

/** Typed or pasted text without control characters (line breaks become spaces). */
function typedText(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (code === 0x0a || code === 0x0d || code === 0x09) out += ' ';
    else if (code >= 0x20 && code !== 0x7f && !(code >= 0x80 && code <= 0x9f)) out += ch;
  }
  return out;
}
