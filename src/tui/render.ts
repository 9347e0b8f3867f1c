/**
 * Starts the live view on a terminal. Rendering is paced inside the view (events applied at most
 * every 100 ms, a 1 s clock tick), so a busy proxy only pays for queueing events.
 */
import { render } from 'ink';
import { createElement } from 'react';
import type { LiveSource } from '../live/events.js';
import { App } from './App.js';

/** Where the view draws and reads keys, and what quitting does. */
export interface TuiOptions {
  /** Where the view is drawn (default `process.stdout`). */
  stdout?: NodeJS.WriteStream;
  /** Where keys come from (default `process.stdin`); without a TTY the view is read-only. */
  stdin?: NodeJS.ReadStream;
  /** Colours on; default off when `NO_COLOR` is set. */
  color?: boolean;
  /** Called for `q` and Ctrl-C; the view keeps running until `stop()`. */
  onQuit: () => void;
  /** Epoch ms now (default `Date.now`). */
  clock?: () => number;
}

/** A running view. */
export interface TuiHandle {
  /** Unsubscribes from the source and unmounts (leaving the last frame on screen). Idempotent. */
  stop(): void;
  /** Settles when the view has been unmounted. */
  waitUntilExit(): Promise<void>;
}

/** Renders the live view of `source` until `stop()`. */
export function startTui(source: LiveSource, options: TuiOptions): TuiHandle {
  const instance = render(
    createElement(App, {
      source,
      onQuit: options.onQuit,
      color: options.color ?? !process.env.NO_COLOR,
      ...(options.clock ? { clock: options.clock } : {}),
    }),
    {
      stdout: options.stdout ?? process.stdout,
      stdin: options.stdin ?? process.stdin,
      exitOnCtrlC: false,
      patchConsole: false,
    },
  );
  const exited = instance.waitUntilExit().then(() => undefined);
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      instance.unmount();
    },
    waitUntilExit: () => exited,
  };
}
