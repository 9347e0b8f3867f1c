/** The shells `jit completion` writes scripts for. */
export const SHELLS = ['bash', 'zsh', 'fish'] as const;

/** One of SHELLS. */
export type Shell = (typeof SHELLS)[number];

/** The file each script is committed as under `completions/` (the names each shell looks for). */
export const COMPLETION_FILES: Record<Shell, string> = {
  bash: 'jit.bash',
  zsh: '_jit',
  fish: 'jit.fish',
};

/** True for a shell jit has a script for. */
export function isShell(name: string): name is Shell {
  return (SHELLS as readonly string[]).includes(name);
}
