import type { DoctorCommandOptions } from '../doctor/cli.js';
import { formatJson, formatText } from '../doctor/format.js';
import { type DoctorDeps, runDoctor } from '../doctor/run-doctor.js';

/** Where command output goes (injected by tests). */
export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** `jit doctor`: every check's line (or JSON); exit 1 when any check failed. */
export async function doctorCommand(
  options: DoctorCommandOptions,
  out: Output = process.stdout,
  deps: DoctorDeps = { env: process.env, cwd: process.cwd(), now: Date.now },
): Promise<number> {
  const results = await runDoctor(
    {
      ...(options.config !== undefined && { config: options.config }),
      ...(options.target !== undefined && { target: options.target }),
    },
    deps,
  );
  const color = out.isTTY === true && !deps.env.NO_COLOR;
  out.write(options.json ? formatJson(results) : formatText(results, color));
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
