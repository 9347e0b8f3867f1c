import { execa } from 'execa';
import { actAsUser, type TestIdp } from './idp.js';
import { JIT_BIN } from './jit.js';

/** What `jit login` showed: the complete verification URI, the plain one, and the code. */
export interface LoginPrompt {
  completeUri: string;
  uri: string;
  userCode: string;
}

const CODE_LINE = /^\s+(https:\/\/\S+user_code=\S+)$/m;
const PLAIN_LINE = /go to (https:\/\/\S+) and enter the code: (\S+)/;

/**
 * Runs `jit login` as a process; once it shows the code, `act` plays the person (or not).
 * Resolves with the finished process and the prompt it showed.
 */
export async function deviceLogin(
  configPath: string,
  env: Record<string, string>,
  act: (prompt: LoginPrompt) => Promise<void>,
  args: string[] = ['--no-browser'],
) {
  const child = execa('node', [JIT_BIN, 'login', '--config', configPath, ...args], {
    env,
    extendEnv: false,
    reject: false,
    timeout: 60_000,
    buffer: { stdout: true, stderr: true },
  });
  let stderr = '';
  const prompt = await new Promise<LoginPrompt>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`jit login showed no code; stderr: ${stderr}`)), 20_000);
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      const complete = CODE_LINE.exec(stderr);
      const plain = PLAIN_LINE.exec(stderr);
      if (complete?.[1] && plain?.[1] && plain[2]) {
        clearTimeout(timer);
        resolve({ completeUri: complete[1], uri: plain[1], userCode: plain[2] });
      }
    });
    void child.then(() => reject(new Error(`jit login exited before showing a code; stderr: ${stderr}`)));
  });
  try {
    await act(prompt);
  } catch (error) {
    // A failed step must not leave a login polling the provider under later tests.
    child.kill('SIGKILL');
    throw error;
  }
  const result = await child;
  return { ...result, prompt };
}

/** `jit login` as `user`, approving consent in the test IdP's browser pages; throws unless it succeeded. */
export async function loginAs(
  idp: TestIdp,
  configPath: string,
  env: Record<string, string>,
  user: 'alice' | 'bob',
): Promise<void> {
  const result = await deviceLogin(configPath, env, (p) =>
    actAsUser(idp, { url: p.completeUri, user, decision: 'approve' }),
  );
  if (result.exitCode !== 0) throw new Error(`jit login as ${user} failed: ${result.stderr}`);
}
