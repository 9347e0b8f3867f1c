/**
 * Connects the reducer to a `LiveSource`: the snapshot first, then source events queued and applied
 * at most once per `batchMs` (one reducer action per batch, so a burst of statements costs the
 * proxy a queue push, never a render), a clock tick every `tickMs` for countdowns, and decisions
 * from the outbox handed to `source.decide`.
 */
import { useEffect, useState, useSyncExternalStore } from 'react';
import type { Decision, LiveSource } from '../live/events.js';
import { batchEvents } from './batch-events.js';
import { initialState, reduce, type Action, type SendResult, type TuiState } from './state.js';

/** The clock and the pacing of updates; fixed for the life of the view. */
export interface LiveTiming {
  /** Epoch ms now. */
  clock: () => number;
  /** Least time between two applied event batches. */
  batchMs: number;
  /** Time between clock ticks. */
  tickMs: number;
}

/** The view's state, a dispatcher, and the latest state for handlers that run between renders. */
export interface LiveSession {
  state: TuiState;
  dispatch: (action: Action) => void;
  current: () => TuiState;
}

/** The state holder: the reducer's state outside React, so key handlers always see the latest. */
interface Store {
  current: () => TuiState;
  dispatch: (action: Action) => void;
  subscribe: (listener: () => void) => () => void;
}

function createStore(source: LiveSource, initial: TuiState): Store {
  let state = initial;
  const listeners = new Set<() => void>();
  const apply = (action: Action) => {
    const next = reduce(state, action);
    if (next === state) return;
    state = next;
    for (const listener of listeners) listener();
  };
  return {
    current: () => state,
    dispatch(action) {
      apply(action);
      if (state.outbox.length > 0)
        apply({ type: 'sent', results: state.outbox.map((d) => handOver(source, d)) });
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function handOver(source: LiveSource, decision: Decision): SendResult {
  try {
    return { decision, accepted: source.decide(decision) };
  } catch (error) {
    return { decision, accepted: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** Subscribes to `source` while mounted. `source` and `timing` are read once, at mount. */
export function useLiveSession(source: LiveSource, timing: LiveTiming): LiveSession {
  const [setup] = useState(() => ({
    source,
    timing,
    store: createStore(source, initialState(timing.clock(), { canDecide: source.canDecide })),
  }));
  const { store } = setup;
  const state = useSyncExternalStore(store.subscribe, store.current);

  useEffect(() => {
    const { source, timing, store } = setup;
    const syncCanDecide = () => store.dispatch({ type: 'can-decide', value: source.canDecide });
    const stop = batchEvents(
      source,
      (events) => {
        store.dispatch({ type: 'events', events });
        syncCanDecide();
      },
      { intervalMs: timing.batchMs },
    );
    // Subscribed first, then the snapshot, in one synchronous step: nothing falls in between.
    store.dispatch({ type: 'events', events: source.snapshot() });
    const ticker = setInterval(() => {
      store.dispatch({ type: 'tick', now: timing.clock() });
      syncCanDecide();
    }, timing.tickMs);
    ticker.unref();
    return () => {
      stop();
      clearInterval(ticker);
    };
  }, [setup]);

  return { state, dispatch: store.dispatch, current: store.current };
}
