import { describe, expect, test } from 'vitest';
import { checkApproveOptions } from '../../src/approve/check-options.js';
import { diffQueue } from '../../src/approve/diff-queue.js';
import {
  decisionLine,
  describeItem,
  itemDetails,
  itemWhat,
  queueTable,
} from '../../src/approve/format-item.js';
import { parseAnswer, promptFor } from '../../src/approve/prompt-answer.js';
import { brokerQuery, checkLocalOptions } from '../../src/audit/broker-query.js';
import type { ApprovalItem } from '../../src/broker/api.js';

const NOW = Date.parse('2025-01-31T09:10:00Z');

function grant(overrides: Partial<ApprovalItem> = {}): ApprovalItem {
  return {
    id: 'g_123',
    kind: 'grant',
    status: 'pending',
    requester: { iss: 'https://idp', sub: 'alice-sub', email: 'alice@example.com', groups: ['dev'] },
    target: 'prod',
    reason: 'fix customer names',
    created_at: '2025-01-31T09:07:55Z',
    roles: ['app_rw'],
    ttl_seconds: 900,
    ...overrides,
  };
}

function hold(overrides: Partial<ApprovalItem> = {}): ApprovalItem {
  return {
    id: 'h_456',
    kind: 'statement',
    status: 'pending',
    requester: { iss: 'https://idp', sub: 'bob-sub', groups: [] },
    target: 'prod',
    reason: 'UPDATE without a WHERE clause needs approval',
    created_at: '2025-01-31T09:09:30Z',
    sql: 'UPDATE customers\n   SET name = upper(name)',
    rule: 'unbounded-write',
    fingerprint: 'abc',
    grant_id: 'g_1',
    ...overrides,
  };
}

describe('queue items', () => {
  test('a grant shows its roles and ttl; a statement its SQL on one line and its rule', () => {
    expect(itemWhat(grant({ roles: ['app_rw', 'app_ro'] }))).toBe('app_rw, app_ro, 15m');
    expect(itemWhat(hold())).toBe('UPDATE customers SET name = upper(name) [rule unbounded-write]');
    const long = itemWhat(hold({ sql: `SELECT ${'x, '.repeat(40)}1`, rule: undefined }));
    expect(Array.from(long)).toHaveLength(60);
    expect(long.endsWith('…')).toBe(true);
  });

  test('the table has a header, padded columns, the requester (email, else sub) and the age', () => {
    expect(queueTable([grant(), hold()], NOW)).toEqual([
      'ID     KIND       REQUESTER          TARGET  AGE    WHAT                                                            REASON',
      'g_123  grant      alice@example.com  prod    2m 5s  app_rw, 15m                                                     fix customer names',
      'h_456  statement  bob-sub            prod    30s    UPDATE customers SET name = upper(name) [rule unbounded-write]  UPDATE without a WHERE clause needs approval',
    ]);
  });

  test('text from requesters cannot drive the terminal', () => {
    const [, row] = queueTable(
      [grant({ reason: 'ok\u001b[2J\u202eevil', requester: { iss: 'i', sub: 's\u0007', groups: [] } })],
      NOW,
    );
    expect(row).toContain('ok\\x1b[2J\\u202eevil');
    expect(row).toContain('s\\x07');
    expect([...(row ?? '')].filter((ch) => ch < ' ' || ch === '\u202e')).toEqual([]);
  });

  test('details show everything, and a statement’s full SQL with its line breaks', () => {
    expect(itemDetails(grant(), NOW, 80)).toEqual([
      'grant request g_123',
      '  requester  alice@example.com (sub alice-sub)',
      '  groups     dev',
      '  target     prod',
      '  roles      app_rw',
      '  ttl        15m',
      '  reason     fix customer names',
      '  waiting    2m 5s',
    ]);
    const sql = `SELECT ${'a'.repeat(100)}\nFROM t`;
    expect(itemDetails(hold({ sql }), NOW, 44)).toEqual([
      'held statement h_456',
      '  requester  bob-sub',
      '  target     prod',
      '  rule       unbounded-write',
      '  grant      g_1',
      '  reason     UPDATE without a WHERE clause needs approval',
      '  waiting    30s',
      '  sql:',
      `    SELECT ${'a'.repeat(33)}`,
      `    ${'a'.repeat(40)}`,
      `    ${'a'.repeat(27)}`,
      '    FROM t',
    ]);
  });

  test('a decision is one line naming what was decided', () => {
    expect(describeItem(grant())).toBe('grant for alice@example.com: app_rw on prod, 15m');
    expect(decisionLine({ decision: 'approve' }, grant())).toBe(
      'approved g_123 (grant for alice@example.com: app_rw on prod, 15m)',
    );
    expect(decisionLine({ decision: 'deny', reason: 'too broad' }, grant())).toBe(
      'denied g_123 (grant for alice@example.com: app_rw on prod, 15m): too broad',
    );
    expect(decisionLine({ decision: 'approve', scope: 'once' }, hold())).toBe(
      'approved h_456 (statement for bob-sub on prod: UPDATE customers SET name = upper(name))',
    );
    expect(decisionLine({ decision: 'approve', scope: 'fingerprint' }, hold())).toBe(
      'approved h_456 (statement for bob-sub on prod: UPDATE customers SET name = upper(name)); ' +
        'statements of this shape are approved for the rest of that session',
    );
    expect(describeItem(grant({ roles: undefined, ttl_seconds: undefined }))).toBe(
      'grant for alice@example.com: every role the rule allows on prod',
    );
  });
});

describe('queue snapshots', () => {
  test('new items are added in order; items gone or no longer pending are removed', () => {
    const a = grant({ id: 'g_a' });
    const b = hold({ id: 'h_b' });
    const c = grant({ id: 'g_c' });
    expect(diffQueue([], [a, b])).toEqual({ added: [a, b], removed: [] });
    expect(diffQueue([a, b], [b, c])).toEqual({ added: [c], removed: [a] });
    expect(diffQueue([a, b], [{ ...a, status: 'approved' }, b])).toEqual({ added: [], removed: [a] });
    expect(diffQueue([a], [a])).toEqual({ added: [], removed: [] });
  });
});

describe('prompt answers', () => {
  test('a, A (statements only), d and s, or the words', () => {
    expect(parseAnswer('a', grant())).toBe('approve');
    expect(parseAnswer(' approve ', hold())).toBe('approve');
    expect(parseAnswer('A', hold())).toBe('approve-shape');
    expect(parseAnswer('A', grant())).toBeUndefined();
    expect(parseAnswer('D', grant())).toBe('deny');
    expect(parseAnswer('skip', grant())).toBe('skip');
    expect(parseAnswer('', grant())).toBeUndefined();
    expect(parseAnswer('yes', grant())).toBeUndefined();
    expect(promptFor(hold())).toContain('[A]pprove shape');
    expect(promptFor(grant())).not.toContain('[A]');
  });
});

describe('jit approve options', () => {
  test('contradictions and missing pieces name the option', () => {
    const check = (id: string | undefined, options: object) => () => checkApproveOptions(id, options);
    expect(check('g_1', { approve: true, deny: true })).toThrow(
      '`--approve` and `--deny` exclude each other',
    );
    expect(check(undefined, { deny: true })).toThrow('`--deny` needs the ID');
    expect(check('g_1', {})).toThrow('`--approve` or `--deny`');
    expect(check('g_1', { list: true, approve: true })).toThrow('`--list` takes no ID');
    expect(check('h_1', { deny: true, fingerprint: true })).toThrow('`--fingerprint` goes with `--approve`');
    expect(check('g_1', { approve: true, fingerprint: true })).toThrow('is a grant request');
    expect(check(undefined, { list: true, reason: 'x' })).toThrow('`--reason` goes with');
    expect(check('h_1', { approve: true, fingerprint: true, reason: 'ok' })).not.toThrow();
    expect(check(undefined, { list: true, json: true })).not.toThrow();
  });
});

describe('jit audit show --broker query', () => {
  const now = new Date('2025-01-31T10:00:00Z');

  test('filters become query parameters: lists joined, times as ISO, a limit always', () => {
    expect(
      brokerQuery(
        {
          email: 'a@example.com',
          decision: 'blocked, denied',
          kind: 'statement',
          since: '1h',
          until: '2025-01-31T09:30:00Z',
        },
        now,
      ),
    ).toEqual({
      sub: undefined,
      email: 'a@example.com',
      target: undefined,
      session: undefined,
      decision: 'blocked,denied',
      kind: 'statement',
      since: '2025-01-31T09:00:00.000Z',
      until: '2025-01-31T09:30:00.000Z',
      limit: '1000',
    });
    expect(brokerQuery({ limit: '5', session: '1a2b' }, now)).toMatchObject({ limit: '5', session: '1a2b' });
  });

  test('bad values name their option', () => {
    expect(() => brokerQuery({ until: 'soon' }, now)).toThrow('`--until` must be a duration');
    expect(() => brokerQuery({ limit: '0' }, now)).toThrow('`--limit` must be a whole number');
    expect(() => brokerQuery({ limit: '2.5' }, now)).toThrow('`--limit`');
    expect(() => brokerQuery({ decision: 'maybe' }, now)).toThrow('`--decision`');
    expect(() => brokerQuery({ since: '1h', until: '2h' }, now)).toThrow(
      '`--until` must be later than `--since`',
    );
  });

  test('broker-only options are errors for local files', () => {
    expect(() => checkLocalOptions({ session: 'x', json: true })).not.toThrow();
    expect(() => checkLocalOptions({ target: 'prod' })).toThrow('`--target` only works with `--broker`');
    expect(() => checkLocalOptions({ clientSecretEnv: 'S' })).toThrow('`--client-secret-env`');
  });
});
