import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerRun } from './run.js';
import { registerProxy } from './proxy.js';
import { registerGrants } from './grants.js';
import { registerDemo } from './demo.js';
import { registerAudit } from './audit.js';
import { registerPolicy } from './policy.js';
import { registerIdentity } from './identity.js';
import { registerWatch } from './watch.js';
import { registerApprove } from './approve.js';
import { registerCompletion } from './completion.js';
import { registerDoctor } from '../doctor/cli.js';
import { registerBroker } from './broker.js';

/** Builds the whole command tree (also used to generate completions). */
export function buildProgram(): Command {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const program = new Command('jit')
    .description('Just-in-time, audited, masked PostgreSQL access for AI coding agents and CI jobs')
    .version(pkg.version, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  $ jit demo                                  # embedded PostgreSQL, sample data, a scripted agent
  $ jit login                                 # who you are (OIDC device flow)
  $ jit run --target dev -- python agent.py   # the agent sees only the local proxy
  $ jit proxy --target dev                    # print a connection URL; Ctrl-C ends the grant
  $ jit watch                                 # live view + approvals for a running session
  $ jit approve                               # team mode: decide requests in the broker's queue
  $ jit grants list --target dev`,
    );
  registerIdentity(program);
  registerRun(program);
  registerProxy(program);
  registerWatch(program);
  registerApprove(program);
  registerGrants(program);
  registerDemo(program);
  registerPolicy(program);
  registerAudit(program);
  registerCompletion(program);
  registerDoctor(program);
  registerBroker(program);
  return program;
}
