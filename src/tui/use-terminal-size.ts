/** The terminal's size, following resizes; fixed values (tests, callers) take precedence. */
import { useStdout } from 'ink';
import { useEffect, useState } from 'react';

/** Columns and rows used when the stream does not say (not a TTY). */
export const DEFAULT_SIZE = { width: 80, height: 24 } as const;

/** `{ width, height }` of the output stream, re-read on `resize`. */
export function useTerminalSize(fixed: { width?: number; height?: number }): {
  width: number;
  height: number;
} {
  const { stdout } = useStdout();
  const [measured, setMeasured] = useState(() => measure(stdout));
  useEffect(() => {
    const onResize = () => setMeasured(measure(stdout));
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return { width: fixed.width ?? measured.width, height: fixed.height ?? measured.height };
}

function measure(stdout: NodeJS.WriteStream): { width: number; height: number } {
  return { width: stdout.columns || DEFAULT_SIZE.width, height: stdout.rows || DEFAULT_SIZE.height };
}
