import { randomBytes } from 'node:crypto';
import { GrantError } from './types.js';

/** PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes; a longer name would be silently cut. */
const MAX_ROLE_NAME_BYTES = 63;
const PREFIX = 'jit_';
const RANDOM_RE = /^[0-9a-f]{8}$/;

/**
 * `jit_<user>_<random>`: the user name lowercased and reduced to `[a-z0-9_]` (accents dropped, other
 * characters become `_`), truncated so the whole name fits in 63 bytes; `random` is 8 hex characters.
 * Only plain ASCII survives, so the name never needs quoting and bytes equal characters.
 */
export function makeRoleName(user: string, random: string = randomBytes(4).toString('hex')): string {
  if (!RANDOM_RE.test(random)) {
    throw new GrantError('invalid_argument', '`random` must be 8 lowercase hex characters');
  }
  const cleaned = user
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '');
  const room = MAX_ROLE_NAME_BYTES - PREFIX.length - 1 - random.length;
  const short = cleaned.slice(0, room).replace(/_$/, '') || 'user';
  return `${PREFIX}${short}_${random}`;
}
