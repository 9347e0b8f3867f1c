/** Signals that would otherwise end jit before the demo has cleaned up. */
const TRAPPED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Keeps SIGINT/SIGTERM/SIGHUP from killing jit in the middle of the demo, so the grant is
 * dropped, the server stopped and the temp dir removed on every path. The demo checks
 * `received` between steps; a running child gets the signal from `runChild`.
 */
export class InterruptTrap {
  /** The first signal received, if any. */
  received: NodeJS.Signals | undefined;
  readonly #onSignal: (signal: NodeJS.Signals, first: boolean) => void;
  readonly #listener = (signal: NodeJS.Signals): void => {
    const first = this.received === undefined;
    this.received ??= signal;
    this.#onSignal(signal, first);
  };

  constructor(onSignal: (signal: NodeJS.Signals, first: boolean) => void) {
    this.#onSignal = onSignal;
    for (const signal of TRAPPED) process.on(signal, this.#listener);
  }

  /** Restores the default behaviour of the signals. */
  dispose(): void {
    for (const signal of TRAPPED) process.removeListener(signal, this.#listener);
  }
}
