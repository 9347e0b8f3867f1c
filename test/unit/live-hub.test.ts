import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/record.js';
import { LiveHub } from '../../src/live/hub.js';
import type { StatementEvent } from '../../src/live/events.js';

function record(ts: string, extra: Partial<AuditRecord> = {}): AuditRecord {
  return {
    kind: 'statement',
    session: 's',
    grant: 'g',
    identity: { sub: 'bob', authenticated: false },
    target: 't',
    decision: 'allowed',
    sql: 'SELECT 1',
    ts,
    seq: 1,
    prev: '0',
    hash: '0',
    ...extra,
  };
}

describe('LiveHub.statementEvent', () => {
  it('gives the record time as Date.parse does, across seconds, before 1970 and for odd text', () => {
    const base = Date.parse('2026-12-06T04:00:00.000Z');
    const times = [
      ...Array.from({ length: 5000 }, (_, i) => new Date(base + Math.floor(i * 7.3)).toISOString()),
      '1969-12-31T23:59:59.500Z',
      '1969-12-31T23:59:59.999Z',
      '2026-12-06T04:00:00.5Z',
      '2026-12-06T04:00:01.1e2Z',
      'not a time',
    ];
    for (const ts of times) {
      expect(LiveHub.statementEvent(record(ts))?.at, ts).toEqual(Date.parse(ts));
    }
  });

  it('copies only the members the record has', () => {
    const event = LiveHub.statementEvent(record('2026-12-06T04:00:00.000Z', { rows: 2, masked: [] }));
    expect(event).toStrictEqual({
      type: 'statement',
      at: Date.parse('2026-12-06T04:00:00.000Z'),
      connection: 0,
      decision: 'allowed',
      sql: 'SELECT 1',
      rows: 2,
    });
  });
});

describe('LiveHub', () => {
  it('keeps the last 200 statements for a new view, in order', () => {
    const hub = new LiveHub();
    for (let i = 0; i < 1234; i++) {
      hub.publish({ type: 'statement', at: i, connection: 1, decision: 'allowed', sql: `SELECT ${i}` });
    }
    const statements = hub.snapshot().filter((e): e is StatementEvent => e.type === 'statement');
    expect(statements.map((e) => e.at)).toEqual(Array.from({ length: 200 }, (_, k) => 1034 + k));
  });
});
