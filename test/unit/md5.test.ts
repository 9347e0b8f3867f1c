import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { md5PasswordResponse } from '../../src/proxy/auth/md5.js';

const md5 = (data: Buffer | string): string => createHash('md5').update(data).digest('hex');

describe('md5PasswordResponse', () => {
  it("matches 'md5' + md5hex(md5hex(password + user) + salt)", () => {
    const salt = Buffer.from([1, 2, 3, 4]);
    const inner = md5('secretpostgres');
    const expected = `md5${md5(Buffer.concat([Buffer.from(inner), salt]))}`;
    expect(md5PasswordResponse('postgres', 'secret', salt)).toBe(expected);
    expect(expected).toMatch(/^md5[0-9a-f]{32}$/);
  });

  it('depends on the salt', () => {
    const a = md5PasswordResponse('postgres', 'secret', Buffer.from([1, 2, 3, 4]));
    const b = md5PasswordResponse('postgres', 'secret', Buffer.from([1, 2, 3, 5]));
    expect(a).not.toBe(b);
  });
});
