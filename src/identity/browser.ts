import { spawn } from 'node:child_process';

/**
 * Opens `url` in the person's browser when there is one: `$BROWSER`, else `open` (macOS),
 * `xdg-open` under a graphical Linux session, `rundll32` on Windows. Never when CI is set or on
 * a headless machine. Returns whether it tried; failures are silent (the URL is printed anyway).
 */
export function openBrowser(url: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.CI === 'true' || env.CI === '1') return false;
  let command: string | undefined;
  let args: string[] = [url];
  if (env.BROWSER) command = env.BROWSER;
  else if (process.platform === 'darwin') command = 'open';
  else if (process.platform === 'win32') {
    command = 'rundll32';
    args = ['url.dll,FileProtocolHandler', url];
  } else if (env.DISPLAY || env.WAYLAND_DISPLAY) command = 'xdg-open';
  if (!command) return false;
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}
