import { describe, expect, it } from 'vitest';
import {
  StartupRefused,
  checkStartupParams,
  parseStartupOptions,
} from '../../src/proxy/auth/startup-params.js';

const EXPECTED = { user: 'jit_agent_1', database: 'app' };

const check = (params: Record<string, string>): Record<string, string> =>
  checkStartupParams(new Map(Object.entries(params)), EXPECTED);

/** Runs the check and returns the refusal (fails the test when there is none). */
function refusal(params: Record<string, string>): StartupRefused {
  try {
    check(params);
  } catch (error) {
    expect(error).toBeInstanceOf(StartupRefused);
    return error as StartupRefused;
  }
  throw new Error(`accepted ${JSON.stringify(params)}`);
}

const base = { user: EXPECTED.user, database: EXPECTED.database };

describe('checkStartupParams: accepted', () => {
  it('forwards ordinary client settings and drops user/database', () => {
    const params = {
      ...base,
      application_name: 'psql',
      client_encoding: 'UTF8',
      DateStyle: 'ISO, MDY',
      TimeZone: 'Europe/Paris',
      extra_float_digits: '3',
      search_path: 'public, "$user"',
      options: '-c statement_timeout=5s',
    };
    const { user: _user, database: _database, ...rest } = params;
    expect(check(params)).toEqual(rest);
  });

  it('defaults the database to the user name, as PostgreSQL does', () => {
    expect(checkStartupParams(new Map([['user', 'app']]), { user: 'app', database: 'app' })).toEqual({});
    expect(
      checkStartupParams(
        new Map([
          ['user', 'app'],
          ['database', ''],
        ]),
        { user: 'app', database: 'app' },
      ),
    ).toEqual({});
  });

  it('accepts every -c / -- form of harmless settings, with escapes, and forwards options verbatim', () => {
    const options = '-c statement_timeout=5s -cwork_mem=64MB --lock_timeout=1s  \t-c search_path=a\\ b';
    expect(check({ ...base, options })).toEqual({ options });
  });

  it('drops replication=false in every spelling', () => {
    for (const value of ['false', 'off', 'no', '0', 'FALSE', ' Off ']) {
      expect(check({ ...base, replication: value }), value).toEqual({});
    }
  });

  it('drops _pq_. protocol options (answered by NegotiateProtocolVersion)', () => {
    expect(check({ ...base, '_pq_.compression': 'on', '_pq_.x': 'y', application_name: 'a' })).toEqual({
      application_name: 'a',
    });
  });

  it('drops an empty or blank options string', () => {
    expect(check({ ...base, options: '' })).toEqual({});
    expect(check({ ...base, options: '  ' })).toEqual({});
  });
});

describe('checkStartupParams: refused', () => {
  it('missing or empty user: 28000', () => {
    const cases: Record<string, string>[] = [{ database: 'app' }, { user: '', database: 'app' }];
    for (const params of cases) {
      const r = refusal(params);
      expect(r.sqlstate).toBe('28000');
      expect(r.message).toMatch(/user/);
    }
  });

  it('another user: 28000, naming both users', () => {
    const r = refusal({ user: 'postgres', database: 'app' });
    expect(r.sqlstate).toBe('28000');
    expect(r.message).toContain('"jit_agent_1"');
    expect(r.message).toContain('"postgres"');
    expect(r.hint).toBeDefined();
  });

  it('user matching only case-insensitively is another user', () => {
    expect(refusal({ user: 'JIT_AGENT_1', database: 'app' }).sqlstate).toBe('28000');
  });

  it('another database (or defaulting to one): 3D000, naming it', () => {
    const r = refusal({ user: EXPECTED.user, database: 'postgres' });
    expect(r.sqlstate).toBe('3D000');
    expect(r.message).toContain('"app"');
    expect(r.message).toContain('"postgres"');
    expect(refusal({ user: EXPECTED.user }).sqlstate).toBe('3D000'); // defaults to "jit_agent_1"
  });

  it('replication connections: 42501', () => {
    for (const value of ['true', 'database', '1', 'on', 'yes', 'TRUE', 't', '']) {
      const r = refusal({ ...base, replication: value });
      expect(r.sqlstate, value).toBe('42501');
      expect(r.message, value).toMatch(/replication/);
    }
  });

  const protectedParams = [
    'role',
    'session_authorization',
    'ROLE',
    'Role',
    'session-authorization',
    'SESSION_AUTHORIZATION',
    'default_transaction_read_only',
    'row_security',
    'session_replication_role',
    'app.tenant_id',
    'myapp.current_user',
    '_PQ_.role', // not the _pq_. prefix: a dotted custom setting
  ];
  for (const name of protectedParams) {
    it(`startup parameter ${JSON.stringify(name)}: 42501 naming it`, () => {
      const r = refusal({ ...base, [name]: 'postgres' });
      expect(r.sqlstate).toBe('42501');
      expect(r.code).toBe('protected_setting');
      expect(r.message).toContain(`"${name}"`);
    });
  }

  // [options string, the setting name the refusal must name]
  const protectedOptions: [string, string][] = [
    ['-c role=postgres', 'role'],
    ['-crole=postgres', 'role'],
    ['--role=postgres', 'role'],
    ['--session_authorization=x', 'session_authorization'],
    ['--session-authorization=x', 'session-authorization'],
    ['-c ROLE=postgres', 'ROLE'],
    ['-c statement_timeout=5s -c role=postgres', 'role'],
    ['-c\trole=postgres', 'role'],
    ['-c  role=postgres', 'role'],
    ['-c\\ role=postgres', ' role'], // escaped space: one word "-c role=postgres"
    ['-c r\\ole=postgres', 'role'], // escaped letter is the letter
    ['-c role\\=postgres', 'role'], // escaped '=' is still '='
    ['--role\\ =x', 'role '],
    ['-c app.tenant_id=42', 'app.tenant_id'],
    ['-c default_transaction_read_only=off', 'default_transaction_read_only'],
    ['-c row_security=off', 'row_security'],
    // PostgreSQL splits options on ASCII whitespace only: a no-break space (or any other
    // Unicode space) is part of the word, so here the server sees `-c application_name=a<NBSP>-c`
    // and then `--role=postgres`.
    ['-c application_name=a\u00a0-c --role=postgres', 'role'],
    ['--application_name=a\u2003-c --session_authorization=postgres', 'session_authorization'],
    ['-c application_name=a\u3000-c -crole=postgres', 'role'],
  ];
  for (const [options, name] of protectedOptions) {
    it(`options ${JSON.stringify(options)}: 42501 naming "${name}"`, () => {
      const r = refusal({ ...base, options });
      expect(r.sqlstate).toBe('42501');
      expect(r.message).toContain(`"${name}"`);
    });
  }

  const nonSettings: [string, string][] = [
    ['-d 5', '-d'],
    ['-F', '-F'],
    ['-c statement_timeout=5s -F', '-F'],
    ['-c', '-c'],
    ['-c statement_timeout', '-c'],
    ['--statement_timeout', '--statement_timeout'],
    ['-e', '-e'],
    ['-Fc role=postgres', '-Fc'],
    ['--', '--'],
    ['statement_timeout=5s', 'statement_timeout=5s'],
    ['-B 10', '-B'],
  ];
  for (const [options, word] of nonSettings) {
    it(`options ${JSON.stringify(options)}: 42501 naming ${JSON.stringify(word)}`, () => {
      const r = refusal({ ...base, options });
      expect(r.sqlstate).toBe('42501');
      expect(r.code).toBe('bad_options');
      expect(r.message).toContain(`"${word}"`);
    });
  }

  it('checks identity before anything else', () => {
    expect(refusal({ user: 'postgres', database: 'app', role: 'postgres' }).sqlstate).toBe('28000');
  });
});

describe('parseStartupOptions', () => {
  it('splits like PostgreSQL pg_split_opts: ASCII whitespace, backslash escapes', () => {
    expect(parseStartupOptions('-c a=1 -cb=2 --c=3 -c d=x\\ y -c e=\\\\')).toEqual({
      settings: [
        ['a', '1'],
        ['b', '2'],
        ['c', '3'],
        ['d', 'x y'],
        ['e', '\\'],
      ],
      other: [],
    });
    expect(parseStartupOptions(' \t\n\r\v\f')).toEqual({ settings: [], other: [] });
    expect(parseStartupOptions('-c a=x\u00a0y')).toEqual({ settings: [['a', 'x\u00a0y']], other: [] });
    expect(parseStartupOptions('-c a=b=c')).toEqual({ settings: [['a', 'b=c']], other: [] });
  });
});

describe('client_encoding at startup', () => {
  const expected = { user: 'jit_u', database: 'app' };
  it('allows UTF8 and refuses encodings in which a multi-byte character can hide a quote or backslash', async () => {
    const { checkStartupParams: check } = await import('../../src/proxy/auth/startup-params.js');
    expect(
      check(
        new Map([
          ['user', 'jit_u'],
          ['database', 'app'],
          ['client_encoding', 'UTF8'],
        ]),
        expected,
      ),
    ).toEqual({
      client_encoding: 'UTF8',
    });
    for (const encoding of ['SJIS', 'GBK', 'BIG5']) {
      expect(() =>
        check(
          new Map([
            ['user', 'jit_u'],
            ['database', 'app'],
            ['client_encoding', encoding],
          ]),
          expected,
        ),
      ).toThrow(/client_encoding/);
      expect(() =>
        check(
          new Map([
            ['user', 'jit_u'],
            ['database', 'app'],
            ['options', `-c client_encoding=${encoding}`],
          ]),
          expected,
        ),
      ).toThrow(/client_encoding/);
    }
  });
});
