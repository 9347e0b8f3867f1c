import { createWriteStream, type WriteStream } from 'node:fs';
import os from 'node:os';
import { ControlServer } from '../control/server.js';
import { newPairingCode } from '../control/pairing.js';
import { runtimeDir } from '../control/paths.js';
import { AttendedApprover } from '../live/approver.js';
import type { HeldEvent, LiveSource } from '../live/events.js';
import { LiveHub } from '../live/hub.js';
import {
  eventLine,
  type SessionSummary,
  SummaryCounter,
  summaryLine,
  writeStepSummary,
} from '../live/report.js';
import type { Policy } from '../policy/policy.js';
import { type Approver, UnattendedApprover } from '../proxy/guard/approver.js';
import type { JitSession } from '../session/session.js';
import { formatDuration } from '../util/duration.js';

/**
 * How a session is watched: `ci` (no TUI, no prompts, JSON events, held statements follow
 * `when_unattended`), `interactive` (`jit run`: the child keeps the terminal; approvals from a
 * paired `jit watch`), `tui` (the Ink live view on jit's terminal, which can approve).
 */
export type LiveMode = 'ci' | 'interactive' | 'tui';

/** The live-view options `jit run` and `jit proxy` share. */
export interface LiveOptions {
  ci?: boolean;
  /** `jit run --tui` (opt in) / `jit proxy --no-tui` (false). */
  tui?: boolean;
  events?: string;
  failOnBlock?: boolean;
  quiet?: boolean;
}

/** Picks the mode: CI when asked, when `CI` is set, or when jit has no terminal. */
export function chooseMode(
  kind: 'run' | 'proxy',
  options: LiveOptions,
  env: NodeJS.ProcessEnv = process.env,
  tty: { stdin: boolean; stderr: boolean } = {
    stdin: process.stdin.isTTY === true,
    stderr: process.stderr.isTTY === true,
  },
): LiveMode {
  if (options.ci || env.CI === 'true' || env.CI === '1' || !tty.stdin || !tty.stderr) return 'ci';
  if (kind === 'proxy') return options.tui === false ? 'interactive' : 'tui';
  return options.tui ? 'tui' : 'interactive';
}

/** Everything around a session that is about people watching it. */
export class LiveRuntime {
  readonly hub = new LiveHub();
  readonly approver: Approver;
  private readonly attended: AttendedApprover | undefined;
  private readonly counter = new SummaryCounter();
  private events: WriteStream | NodeJS.WriteStream | undefined;
  private control: ControlServer | undefined;
  private tui: { stop(): void } | undefined;

  constructor(
    readonly mode: LiveMode,
    private readonly options: LiveOptions,
    policy: Policy,
  ) {
    this.hub.subscribe((events) => this.counter.add(events));
    if (mode === 'ci') {
      this.approver = new UnattendedApprover();
    } else {
      this.attended = new AttendedApprover(this.hub, {
        timeoutMs: policy.approval.timeoutMs,
        onUnattended: (held) => {
          if (mode === 'interactive') process.stderr.write(unattendedLine(held));
        },
      });
      this.approver = this.attended;
    }
    const file = options.events;
    if (file) this.events = createWriteStream(file, { flags: 'a', mode: 0o600 });
    else if (mode === 'ci' && !options.quiet) this.events = process.stderr;
    const events = this.events;
    if (events) this.hub.subscribe((batch) => events.write(batch.map(eventLine).join('')));
  }

  /** Human status lines go to stderr unless it carries the JSON events (or --quiet). */
  get humanLines(): boolean {
    return !this.options.quiet && this.events !== process.stderr;
  }

  /** After the session started: the control socket and its pairing code, or the TUI. */
  async attach(session: JitSession): Promise<void> {
    const attended = this.attended;
    if (!attended) return;
    const code = newPairingCode();
    this.control = await ControlServer.start({
      dir: runtimeDir(),
      session: session.id,
      target: session.grant.target,
      code,
      hub: this.hub,
      approver: attended,
      onPairingFailure: (failures, locked) => {
        const line = locked
          ? `jit: ${failures} pairing attempts with a wrong code: pairing is now locked for this session\n`
          : `jit: a pairing attempt with a wrong code was refused (${failures}/5)\n`;
        if (this.mode === 'interactive') process.stderr.write(`${line}\u0007`);
      },
      onPaired: (who) => {
        if (this.mode === 'interactive')
          process.stderr.write(`jit: ${who} paired: held statements go there\n`);
      },
    });
    process.stderr.write(
      `jit: to watch this session and approve held statements, run \`jit watch\` in another terminal\n` +
        `     and enter the pairing code ${code} (it is shown only here)\n`,
    );
    if (this.mode === 'tui') {
      const { startTui } = await import('../tui/render.js');
      const detach = attended.attachDecider();
      const who = `terminal:${osUser()}`;
      const source: LiveSource = {
        snapshot: () => this.hub.snapshot(),
        subscribe: (listener) => this.hub.subscribe(listener),
        decide: (decision) => attended.decide(decision, who),
        canDecide: true,
      };
      const tui = startTui(source, {
        stdout: process.stderr,
        onQuit: () => void session.stop('signal'),
      });
      this.tui = {
        stop: () => {
          detach();
          tui.stop();
        },
      };
    }
  }

  /** At the end: stop the views, print the summary, write the step summary. */
  async finish(): Promise<SessionSummary> {
    this.hub.flush();
    this.tui?.stop();
    await this.control?.close().catch(() => {});
    const summary = this.counter.summary();
    if (this.events) {
      const line = `${JSON.stringify({ ts: new Date().toISOString(), type: 'summary', ...summary })}\n`;
      this.events.write(line);
      if (this.events !== process.stderr) {
        const stream = this.events as WriteStream;
        await new Promise<void>((resolve) => stream.end(() => resolve()));
      }
    }
    if (this.humanLines) process.stderr.write(summaryLine(summary));
    await writeStepSummary(summary).catch((error: unknown) => {
      process.stderr.write(`jit: could not write $GITHUB_STEP_SUMMARY: ${String(error)}\n`);
    });
    return summary;
  }
}

function unattendedLine(held: HeldEvent): string {
  const sql = held.sql.replace(/\s+/g, ' ').trim();
  const short = sql.length > 80 ? `${sql.slice(0, 77)}…` : sql;
  return (
    `jit: held (rule ${held.rule ?? 'policy'}) on connection ${held.connection}: ${short}\n` +
    `     approve or deny it in \`jit watch\` within ${formatDuration(held.deadline - Date.now())}, or it is denied\u0007\n`
  );
}

function osUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'user';
  }
}
