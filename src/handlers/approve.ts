import type { ApprovalDecision } from '../broker/api.js';
import { ApproveError, brokerOnlyOption, checkApproveOptions } from '../approve/check-options.js';
import { decisionLine, queueTable } from '../approve/format-item.js';
import { refusal } from '../approve/refusal.js';
import type { ApproveCommandOptions } from '../cli/approve.js';
import { ConfigError, type JitConfig } from '../config/schema.js';
import type { BrokerClient } from '../grant/broker-client.js';
import { brokerClientFor, loadCommandConfig } from './broker-access.js';

/** What `jit approve` touches of the outside world (injectable for tests). */
export interface ApproveIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  now: () => number;
  /** Whether a person is there to ask (stdin and stderr are terminals, not CI). */
  interactive: boolean;
}

/** The real process. */
export function processApproveIo(env: NodeJS.ProcessEnv = process.env): ApproveIo {
  const ci = env.CI === 'true' || env.CI === '1';
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env,
    now: Date.now,
    interactive: !ci && process.stdin.isTTY === true && process.stderr.isTTY === true,
  };
}

/**
 * `jit approve [ID]`: with a broker (the config's `broker:` section, or `--broker`), list or decide
 * the caller's approval queue, or wait for requests and ask about each; without one, `jit watch`.
 */
export async function approveCommand(
  id: string | undefined,
  options: ApproveCommandOptions,
  io: ApproveIo = processApproveIo(),
): Promise<number> {
  checkApproveOptions(id, options);
  const config = await configOrNone(options, io.env);
  if (!config || (!config.broker && !options.broker)) {
    const option = brokerOnlyOption(options);
    if (option) {
      throw new ApproveError(
        'needs_broker',
        `\`${option}\` works on the team broker's queue, and ${config?.path ?? 'the config'} has no \`broker:\` section`,
        {
          hint: 'add `broker: { url: … }` to jit.yaml (or pass the team config with --config); for a session on this machine run `jit approve` alone',
        },
      );
    }
    const { watchCommand } = await import('./watch.js');
    return watchCommand({
      ...(options.session !== undefined && { session: options.session }),
      ...(options.json !== undefined && { json: options.json }),
      ...(options.color !== undefined && { color: options.color }),
    });
  }
  if (options.session !== undefined) {
    throw new ApproveError(
      'bad_option',
      "`--session` is for sessions on this machine (`jit watch`); the broker's queue has every session you may decide",
    );
  }
  const client = await brokerClientFor(config, 'jit approve --broker', {}, io.env);
  if (id !== undefined) return decide(client, id, options, io);
  if (options.list || options.json) return list(client, options, io);
  if (!io.interactive) {
    throw new ApproveError('not_interactive', '`jit approve` has no terminal to ask you on', {
      hint: 'print the queue with `jit approve --list`, then decide with `jit approve ID --approve` or `jit approve ID --deny --reason TEXT`',
    });
  }
  const { approveLoop } = await import('./approve-loop.js');
  return approveLoop(client, {
    input: process.stdin,
    output: process.stderr,
    width: () => process.stderr.columns || 100,
    now: io.now,
  });
}

/**
 * The config, found as other commands find it; undefined when there is none to find and no
 * `--broker` (then `jit approve` is `jit watch`, which needs no config).
 */
async function configOrNone(
  options: ApproveCommandOptions,
  env: NodeJS.ProcessEnv,
): Promise<JitConfig | undefined> {
  try {
    return await loadCommandConfig(options.config, env);
  } catch (error) {
    if (
      error instanceof ConfigError &&
      error.code === 'no_config' &&
      !options.broker &&
      !brokerOnlyOption(options)
    ) {
      return undefined;
    }
    throw error;
  }
}

/** `--list [--json]`: the queue once. */
async function list(client: BrokerClient, options: ApproveCommandOptions, io: ApproveIo): Promise<number> {
  const items = await client.approvals();
  if (items.length === 0) {
    io.stderr.write('jit: no pending approvals\n');
    return 0;
  }
  const lines = options.json ? items.map((item) => JSON.stringify(item)) : queueTable(items, io.now());
  io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** `ID --approve|--deny [--fingerprint] [--reason TEXT]`: one decision, one line. */
async function decide(
  client: BrokerClient,
  id: string,
  options: ApproveCommandOptions,
  io: ApproveIo,
): Promise<number> {
  const decision: ApprovalDecision = {
    decision: options.approve ? 'approve' : 'deny',
    ...(options.reason !== undefined && options.reason.trim() !== '' && { reason: options.reason.trim() }),
    ...(options.fingerprint && { scope: 'fingerprint' as const }),
  };
  let item;
  try {
    ({ item } = await client.decide(id, decision));
  } catch (error) {
    throw refusal(error, id, decision) ?? error;
  }
  io.stdout.write(`${options.json ? JSON.stringify(item) : decisionLine(decision, item)}\n`);
  return 0;
}
