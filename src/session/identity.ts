import os from 'node:os';
import type { Identity } from '../grant/types.js';

/** The local OS user as an (unauthenticated) identity, for `identity: os-user`. */
export function osUserIdentity(): Identity {
  const name = safeUserName();
  return { sub: `os:${name}@${os.hostname()}`, name, authenticated: false };
}

function safeUserName(): string {
  try {
    return os.userInfo().username || 'user';
  } catch {
    return process.env.USER || 'user';
  }
}
