import { createHash } from 'node:crypto';

/**
 * PostgreSQL's md5 password response: 'md5' + md5hex(md5hex(password + user) + salt).
 * The 4-byte salt comes from AuthenticationMD5Password; the result goes in a PasswordMessage.
 * https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-START-UP
 */
export function md5PasswordResponse(user: string, password: string, salt: Buffer): string {
  const inner = md5Hex(Buffer.from(password + user, 'utf8'));
  return `md5${md5Hex(Buffer.concat([Buffer.from(inner, 'ascii'), salt]))}`;
}

function md5Hex(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}
