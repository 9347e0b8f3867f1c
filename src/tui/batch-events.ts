/**
 * Keeps rendering off the proxy's hot path: a source's events are only queued when they arrive, and
 * handed on in one batch at most every `intervalMs` (the first after a quiet spell without delay).
 */
import type { LiveSource, SessionEvent } from '../live/events.js';

/** How often batches may be handed on. */
export interface BatchOptions {
  /** Least time between two batches. */
  intervalMs: number;
  /** A monotonic clock in ms (default `performance.now`). */
  now?: () => number;
}

/** Subscribes to `source` at once; returns a function that unsubscribes and drops what is queued. */
export function batchEvents(
  source: Pick<LiveSource, 'subscribe'>,
  onBatch: (events: SessionEvent[]) => void,
  options: BatchOptions,
): () => void {
  const now = options.now ?? (() => performance.now());
  let queue: SessionEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  let last = -Infinity;
  const flush = () => {
    timer = undefined;
    last = now();
    const events = queue;
    queue = [];
    onBatch(events);
  };
  const unsubscribe = source.subscribe((events) => {
    for (const event of events) queue.push(event);
    if (timer !== undefined || queue.length === 0) return;
    timer = setTimeout(flush, Math.max(0, options.intervalMs - (now() - last)));
    timer.unref();
  });
  return () => {
    unsubscribe();
    clearTimeout(timer);
    timer = undefined;
    queue = [];
  };
}
