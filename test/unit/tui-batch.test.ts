import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import type { SessionEvent, StatementEvent } from '../../src/live/events.js';
import { batchEvents } from '../../src/tui/batch-events.js';

function statement(n: number): StatementEvent {
  return { type: 'statement', at: n, connection: 1, decision: 'allowed', sql: `SELECT ${n}` };
}

/** A source whose listener the test calls directly, as a proxy would on its hot path. */
function source() {
  const listeners = new Set<(events: SessionEvent[]) => void>();
  return {
    listeners,
    subscribe(listener: (events: SessionEvent[]) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(...events: SessionEvent[]) {
      for (const listener of listeners) listener(events);
    },
  };
}

let clock = 0;
beforeEach(() => {
  vi.useFakeTimers();
  clock = 1000;
});
afterEach(() => {
  vi.useRealTimers();
});

const advance = async (ms: number) => {
  clock += ms;
  await vi.advanceTimersByTimeAsync(ms);
};

test('a burst of 10,000 events is queued without calling back, then handed on as one batch', async () => {
  const src = source();
  const batches: SessionEvent[][] = [];
  batchEvents(src, (events) => batches.push(events), { intervalMs: 100, now: () => clock });
  for (let i = 1; i <= 10_000; i += 1) src.emit(statement(i));
  expect(batches).toHaveLength(0);
  await advance(0);
  expect(batches).toHaveLength(1);
  expect(batches[0]).toHaveLength(10_000);
  expect(batches[0]?.at(-1)).toEqual(statement(10_000));
});

test('batches are at least intervalMs apart, in order, nothing lost', async () => {
  const src = source();
  const batches: { at: number; events: SessionEvent[] }[] = [];
  batchEvents(src, (events) => batches.push({ at: clock, events }), { intervalMs: 100, now: () => clock });
  let n = 0;
  for (let step = 0; step < 50; step += 1) {
    src.emit(statement((n += 1)), statement((n += 1)));
    await advance(10);
  }
  await advance(100);
  const times = batches.map((b) => b.at);
  for (let i = 1; i < times.length; i += 1) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(100);
  expect(batches.length).toBeLessThanOrEqual(7);
  expect(batches.flatMap((b) => b.events)).toEqual(Array.from({ length: 100 }, (_, i) => statement(i + 1)));
});

test('stopping unsubscribes and drops what was queued', async () => {
  const src = source();
  const onBatch = vi.fn();
  const stop = batchEvents(src, onBatch, { intervalMs: 100, now: () => clock });
  expect(src.listeners.size).toBe(1);
  src.emit(statement(1));
  stop();
  expect(src.listeners.size).toBe(0);
  await advance(500);
  expect(onBatch).not.toHaveBeenCalled();
});
