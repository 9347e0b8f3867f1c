/** `jit demo` — filled in below. */
export async function demoCommand(_command: string[]): Promise<number> {
  throw new Error('demo not built yet');
}
