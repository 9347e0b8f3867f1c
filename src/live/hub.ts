import type { AuditRecord } from '../audit/record.js';
import type { HeldEvent, SessionEvent, SessionInfoEvent, StatementEvent } from './events.js';

/** How many finished statements a new view gets in its snapshot. */
const SNAPSHOT_STATEMENTS = 200;
/** Events are handed to subscribers in batches at most this often, off the proxy's hot path. */
const FLUSH_INTERVAL_MS = 50;

/**
 * The session's event stream for live views: the TUI, `jit watch` connections, CI JSON lines.
 * `publish` only queues (no I/O, no rendering); subscribers get batches from a timer.
 */
export class LiveHub {
  private info: SessionInfoEvent | undefined;
  private recent: StatementEvent[] = [];
  private readonly held = new Map<string, HeldEvent>();
  private readonly other: SessionEvent[] = [];
  private readonly listeners = new Set<(events: SessionEvent[]) => void>();
  private queue: SessionEvent[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** Everything a new view needs to start: the session, recent statements, notices, pending holds. */
  snapshot(): SessionEvent[] {
    return [
      ...(this.info ? [this.info] : []),
      ...this.other,
      ...this.recent.slice(-SNAPSHOT_STATEMENTS),
      ...this.held.values(),
    ];
  }

  subscribe(listener: (events: SessionEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(event: SessionEvent): void {
    switch (event.type) {
      case 'session':
        this.info = event;
        break;
      case 'statement':
        // Trimmed now and then, not on every statement (this runs once per statement).
        this.recent.push(event);
        if (this.recent.length >= 2 * SNAPSHOT_STATEMENTS)
          this.recent = this.recent.slice(-SNAPSHOT_STATEMENTS);
        break;
      case 'held':
        this.held.set(event.id, event);
        break;
      case 'resolved':
        this.held.delete(event.id);
        break;
      default:
        this.other.push(event);
        if (this.other.length > 20) this.other.shift();
    }
    if (this.listeners.size === 0) return;
    this.queue.push(event);
    this.timer ??= setTimeout(() => this.flush(), FLUSH_INTERVAL_MS);
  }

  /** Hands queued events to every subscriber now (also at the end of a session). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    for (const listener of this.listeners) listener(batch);
  }

  /** A finished statement's audit record as a live event (other kinds are not statements). */
  static statementEvent(record: AuditRecord): StatementEvent | undefined {
    if (record.kind !== 'statement' || record.decision === undefined) return undefined;
    // Members set one by one (not spread in): this runs once per statement.
    const event: StatementEvent = {
      type: 'statement',
      at: tsMillis(record.ts),
      connection: record.connection ?? 0,
      decision: record.decision,
      sql: record.sql ?? '',
    };
    if (record.rule !== undefined) event.rule = record.rule;
    if (record.duration_ms !== undefined) event.durationMs = record.duration_ms;
    if (record.rows !== undefined) event.rows = record.rows;
    if (record.sqlstate !== undefined) event.sqlstate = record.sqlstate;
    if (record.masked !== undefined && record.masked.length > 0) event.masked = record.masked;
    if (record.approver !== undefined) event.approver = record.approver;
    if (record.reason !== undefined) event.reason = record.reason;
    return event;
  }
}

/** The whole second of the last `ts` parsed (`yyyy-mm-ddTHH:MM:SS.`) and its epoch milliseconds. */
let lastSecond = '';
let lastSecondMs = 0;

/** Date.parse of an audit `ts` (`yyyy-mm-ddTHH:MM:SS.mmmZ`), parsing each second's prefix once. */
function tsMillis(ts: string): number {
  if (ts.length === 24 && lastSecond !== '' && ts.startsWith(lastSecond) && ts.charCodeAt(23) === 0x5a) {
    const d1 = ts.charCodeAt(20) - 0x30;
    const d2 = ts.charCodeAt(21) - 0x30;
    const d3 = ts.charCodeAt(22) - 0x30;
    if (d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9 && d3 >= 0 && d3 <= 9)
      return lastSecondMs + d1 * 100 + d2 * 10 + d3;
  }
  const at = Date.parse(ts);
  if (ts.length === 24 && Number.isFinite(at)) {
    lastSecond = ts.slice(0, 20);
    lastSecondMs = Math.floor(at / 1000) * 1000;
  }
  return at;
}
