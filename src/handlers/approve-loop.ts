import { createInterface } from 'node:readline/promises';
import type { ApprovalDecision, ApprovalItem } from '../broker/api.js';
import { diffQueue, pendingOnly } from '../approve/diff-queue.js';
import { decisionLine, itemDetails } from '../approve/format-item.js';
import { parseAnswer, promptFor } from '../approve/prompt-answer.js';
import { refusal } from '../approve/refusal.js';
import { oneLine } from '../tui/format.js';
import { BrokerError, type BrokerClient } from '../grant/broker-client.js';

/** How long one long-poll of the queue lasts before it is asked again. */
const WAIT_SECONDS = 20;
/** Pause after a failed poll (the broker restarting) before asking again. */
const RETRY_MS = 2000;

/** The terminal `jit approve` talks on. */
export interface LoopIo {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Columns for wrapping SQL (asked each time: the terminal can be resized). */
  width: () => number;
  now: () => number;
}

/**
 * Interactive `jit approve`: long-polls the caller's queue and, one at a time, shows each new item
 * in full and asks what to do. Items decided elsewhere while shown or skipped are noted as gone.
 * Plain lines on stderr, read with readline. Returns 130 on Ctrl-C, 143 on SIGTERM, 0 at end of input.
 */
export async function approveLoop(client: BrokerClient, io: LoopIo): Promise<number> {
  // The first answer comes before any prompt: a broker that cannot be reached, or a token it
  // refuses, is an error now rather than a retry loop.
  let snapshot = pendingOnly(await client.approvals());
  const rl = createInterface({ input: io.input, output: io.output, terminal: true });
  const quit = new AbortController();
  let exitCode = 0;
  const stop = (code: number) => () => {
    if (quit.signal.aborted) return;
    exitCode = code;
    quit.abort();
  };
  const onInterrupt = stop(130);
  const onTerminate = stop(143);
  rl.on('SIGINT', onInterrupt);
  rl.on('close', stop(0));
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onTerminate);

  const say = (line: string) => io.output.write(`${line}\n`);
  /** Items not yet shown, in arrival order. */
  const waiting: ApprovalItem[] = [...snapshot];
  /** What this approver did with items already shown. */
  const handled = new Map<string, 'decided' | 'skipped'>();
  /** Lines to print once no prompt is up. */
  const notes: string[] = [];
  let shown: { id: string; gone: AbortController } | undefined;
  let wake: (() => void) | undefined;
  const changed = () => wake?.();
  let fatal: unknown;

  const apply = (items: ApprovalItem[]) => {
    const { added, removed } = diffQueue(snapshot, items);
    snapshot = pendingOnly(items);
    for (const item of added) if (!handled.has(item.id)) waiting.push(item);
    for (const item of removed) {
      const index = waiting.findIndex((w) => w.id === item.id);
      if (index >= 0) waiting.splice(index, 1);
      if (shown?.id === item.id) shown.gone.abort();
      else if (handled.get(item.id) === 'skipped') notes.push(goneLine(item.id));
    }
    changed();
  };

  const poller = (async () => {
    let failing = false;
    while (!quit.signal.aborted) {
      try {
        const items = await client.approvals(
          WAIT_SECONDS,
          quit.signal,
          snapshot.map((item) => item.id),
        );
        if (failing) notes.push('jit: the broker answers again');
        failing = false;
        apply(items);
      } catch (error) {
        if (quit.signal.aborted) return;
        if (!transient(error)) {
          fatal = error;
          quit.abort();
          return;
        }
        if (!failing) notes.push(`jit: ${(error as Error).message}; trying again every ${RETRY_MS / 1000}s`);
        failing = true;
        changed();
        await sleep(RETRY_MS, quit.signal);
      }
    }
  })();

  const ask = async (query: string, gone?: AbortSignal): Promise<string | undefined> => {
    const signal = gone ? AbortSignal.any([quit.signal, gone]) : quit.signal;
    try {
      return await rl.question(query, { signal });
    } catch {
      return undefined;
    }
  };

  /** Shows an item and asks until it is decided, skipped, or gone. */
  const handle = async (item: ApprovalItem) => {
    const gone = new AbortController();
    shown = { id: item.id, gone };
    say('');
    for (const line of itemDetails(item, io.now(), io.width())) say(line);
    try {
      for (;;) {
        const text = await ask(promptFor(item), gone.signal);
        if (text === undefined) {
          if (gone.signal.aborted && !quit.signal.aborted) say(goneLine(item.id));
          return;
        }
        const answer = parseAnswer(text, item);
        if (answer === undefined) {
          say(item.kind === 'statement' ? 'type a, A, d or s' : 'type a, d or s');
          continue;
        }
        if (answer === 'skip') {
          handled.set(item.id, 'skipped');
          say(`skipped ${oneLine(item.id)} (it stays in the queue for other approvers)`);
          return;
        }
        let reason: string | undefined;
        if (answer === 'deny') {
          reason = (await ask('reason (shown to the requester, Enter for none) > ', gone.signal))?.trim();
          if (reason === undefined) {
            if (gone.signal.aborted && !quit.signal.aborted) say(goneLine(item.id));
            return;
          }
        }
        const decision: ApprovalDecision = {
          decision: answer === 'deny' ? 'deny' : 'approve',
          ...(reason && { reason }),
          ...(item.kind === 'statement' &&
            answer !== 'deny' && { scope: answer === 'approve-shape' ? 'fingerprint' : 'once' }),
        };
        handled.set(item.id, 'decided');
        try {
          const { item: decided } = await client.decide(item.id, decision);
          say(decisionLine(decision, decided));
        } catch (error) {
          if (transient(error)) {
            // Not decided: ask again (the broker may be back by then).
            handled.delete(item.id);
            waiting.push(item);
            say(`jit: ${(error as Error).message}; ${oneLine(item.id)} is still pending`);
          } else {
            const refused = refusal(error, item.id, decision);
            if (!refused) throw error;
            say(`jit: ${refused.message}`);
          }
        }
        return;
      }
    } finally {
      shown = undefined;
    }
  };

  try {
    let idle = false;
    while (!quit.signal.aborted) {
      for (const note of notes.splice(0)) say(note);
      const next = waiting.shift();
      if (next) {
        idle = false;
        await handle(next);
        continue;
      }
      if (!idle) say('waiting for approval requests… (Ctrl-C to quit)');
      idle = true;
      await new Promise<void>((resolve) => {
        const done = () => {
          quit.signal.removeEventListener('abort', done);
          wake = undefined;
          resolve();
        };
        wake = done;
        quit.signal.addEventListener('abort', done);
      });
    }
  } finally {
    quit.abort();
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onTerminate);
    rl.close();
    await poller;
  }
  if (fatal !== undefined) throw fatal;
  return exitCode;
}

/** The note for an item that left the queue without this approver deciding it. */
function goneLine(id: string): string {
  return `${oneLine(id)} is no longer pending (decided by another approver, withdrawn or expired)`;
}

/** The broker down or restarting: worth asking again rather than giving up. */
function transient(error: unknown): boolean {
  return error instanceof BrokerError && (error.status === 0 || error.status >= 500);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
