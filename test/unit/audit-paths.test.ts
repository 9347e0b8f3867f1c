import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultAuditDir, sessionAuditPath } from '../../src/audit/paths.js';

describe('defaultAuditDir', () => {
  it('JIT_AUDIT_DIR overrides everything', () => {
    expect(defaultAuditDir({ JIT_AUDIT_DIR: '/srv/audit', HOME: '/home/a' }, 'linux')).toBe('/srv/audit');
    expect(defaultAuditDir({ JIT_AUDIT_DIR: 'D:\\audit' }, 'win32')).toBe('D:\\audit');
  });

  it('Linux: $XDG_STATE_HOME/jit/audit, else ~/.local/state/jit/audit; a relative XDG_STATE_HOME is ignored', () => {
    expect(defaultAuditDir({ XDG_STATE_HOME: '/xdg/state', HOME: '/home/a' }, 'linux')).toBe(
      '/xdg/state/jit/audit',
    );
    expect(defaultAuditDir({ HOME: '/home/a' }, 'linux')).toBe('/home/a/.local/state/jit/audit');
    expect(defaultAuditDir({ XDG_STATE_HOME: 'rel/state', HOME: '/home/a' }, 'linux')).toBe(
      '/home/a/.local/state/jit/audit',
    );
  });

  it('macOS: ~/Library/Logs/jit/audit', () => {
    expect(defaultAuditDir({ HOME: '/Users/a', XDG_STATE_HOME: '/x' }, 'darwin')).toBe(
      '/Users/a/Library/Logs/jit/audit',
    );
  });

  it('Windows: %LOCALAPPDATA%\\jit\\audit, else under %USERPROFILE%', () => {
    expect(defaultAuditDir({ LOCALAPPDATA: 'C:\\Users\\a\\AppData\\Local' }, 'win32')).toBe(
      'C:\\Users\\a\\AppData\\Local\\jit\\audit',
    );
    // an empty variable counts as unset
    expect(defaultAuditDir({ LOCALAPPDATA: '', USERPROFILE: 'C:\\Users\\a' }, 'win32')).toBe(
      'C:\\Users\\a\\AppData\\Local\\jit\\audit',
    );
    expect(defaultAuditDir({ JIT_AUDIT_DIR: '', HOME: '/home/a' }, 'linux')).toBe(
      '/home/a/.local/state/jit/audit',
    );
    expect(defaultAuditDir({ USERPROFILE: 'C:\\Users\\a' }, 'win32')).toBe(
      'C:\\Users\\a\\AppData\\Local\\jit\\audit',
    );
  });
});

describe('sessionAuditPath', () => {
  it('is <dir>/<UTC yyyy-mm-ddTHH-MM-SS>-<session>.jsonl', () => {
    const at = new Date('2025-01-31T09:08:07.654Z');
    expect(sessionAuditPath('/a', '1a2b3c4d5e6f', at)).toBe(
      path.join('/a', '2025-01-31T09-08-07-1a2b3c4d5e6f.jsonl'),
    );
  });

  it('names sort in start order', () => {
    const names = ['2025-01-31T10:00:00Z', '2025-01-31T09:59:59Z', '2024-12-31T23:00:00Z'].map((t) =>
      sessionAuditPath('/a', 's', new Date(t)),
    );
    expect([...names].sort()).toEqual([names[2], names[1], names[0]]);
  });

  it('refuses a session id that is not a plain token', () => {
    for (const bad of ['../x', 'a/b', '', '.hidden', 'a b'])
      expect(() => sessionAuditPath('/a', bad, new Date())).toThrow(
        expect.objectContaining({ code: 'bad_session' }),
      );
  });
});
