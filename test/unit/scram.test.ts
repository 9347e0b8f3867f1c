import { execFileSync } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ScramClient,
  ScramError,
  ScramServer,
  formatVerifier,
  scramSecret,
  scramVerifier,
  tlsServerEndPoint,
  type ScramSecret,
} from '../../src/proxy/auth/scram.js';
import { withClient } from '../helpers/db.js';

// RFC 7677 §3 test vector.
const RFC = {
  password: 'pencil',
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal:
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

const text = (b: Buffer): string => b.toString('utf8');
const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Asserts `fn` throws a ScramError with `code`. */
function expectScramError(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ScramError);
  expect((caught as ScramError).code).toBe(code);
}

/** Runs a whole exchange; returns the server-final message the client accepted. */
function roundTrip(client: ScramClient, server: ScramServer): string {
  const serverFirst = server.start(client.mechanism, client.clientFirst());
  const serverFinal = server.finish(client.clientFinal(serverFirst));
  client.verifyServerFinal(serverFinal);
  return text(serverFinal);
}

/** Parses 'SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>' back into a secret. */
function parseVerifier(verifier: string): ScramSecret {
  const match = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(
    verifier,
  );
  expect(match).not.toBeNull();
  const [, iterations, salt, storedKey, serverKey] = match as RegExpExecArray;
  return {
    iterations: Number(iterations),
    salt: Buffer.from(salt as string, 'base64'),
    storedKey: Buffer.from(storedKey as string, 'base64'),
    serverKey: Buffer.from(serverKey as string, 'base64'),
  };
}

describe('RFC 7677 test vector', () => {
  it('ScramServer produces the RFC server-first and server-final messages', () => {
    const secret = scramSecret(RFC.password, { salt: RFC.salt, iterations: 4096 });
    const server = new ScramServer(secret, () => RFC.serverNonce);
    expect(text(server.start('SCRAM-SHA-256', bytes(RFC.clientFirst)))).toBe(RFC.serverFirst);
    expect(text(server.finish(bytes(RFC.clientFinal)))).toBe(RFC.serverFinal);
  });

  it('ScramClient produces the RFC client proof and accepts the RFC server signature', () => {
    const client = new ScramClient({
      password: RFC.password,
      mechanisms: ['SCRAM-SHA-256'],
      username: 'user',
      randomNonce: () => RFC.clientNonce,
    });
    expect(client.mechanism).toBe('SCRAM-SHA-256');
    expect(text(client.clientFirst())).toBe(RFC.clientFirst);
    expect(text(client.clientFinal(bytes(RFC.serverFirst)))).toBe(RFC.clientFinal);
    expect(() => client.verifyServerFinal(bytes(RFC.serverFinal))).not.toThrow();
  });

  it('ScramClient rejects a server signature that is not the RFC one', () => {
    const client = new ScramClient({
      password: RFC.password,
      mechanisms: ['SCRAM-SHA-256'],
      username: 'user',
      randomNonce: () => RFC.clientNonce,
    });
    client.clientFirst();
    client.clientFinal(bytes(RFC.serverFirst));
    const forged = `v=${Buffer.alloc(32, 7).toString('base64')}`;
    expectScramError(() => client.verifyServerFinal(bytes(forged)), 'bad_server_signature');
  });
});

describe('ScramClient ↔ ScramServer', () => {
  const secret = scramSecret('one-time-3f9a', { iterations: 64 });

  it('completes with the default gs2 header and username', () => {
    const client = new ScramClient({ password: 'one-time-3f9a', mechanisms: ['SCRAM-SHA-256'] });
    const server = new ScramServer(secret);
    const first = client.clientFirst();
    expect(text(first)).toMatch(/^n,,n=\*,r=[\x21-\x2B\x2D-\x7E]{24}$/);
    const final = client.clientFinal(server.start(client.mechanism, first));
    expect(text(final)).toMatch(/^c=biws,r=[^,]+,p=[A-Za-z0-9+/]{43}=$/);
    client.verifyServerFinal(server.finish(final));
  });

  it("accepts 'y,,' from a client that has TLS elsewhere but was offered no PLUS", () => {
    const client = new ScramClient({
      password: 'one-time-3f9a',
      mechanisms: ['SCRAM-SHA-256'],
      channelBinding: randomBytes(32),
    });
    expect(client.mechanism).toBe('SCRAM-SHA-256');
    const server = new ScramServer(secret);
    const first = client.clientFirst();
    expect(text(first).startsWith('y,,n=*,r=')).toBe(true);
    const final = client.clientFinal(server.start(client.mechanism, first));
    expect(text(final).startsWith('c=eSws,')).toBe(true);
    client.verifyServerFinal(server.finish(final));
  });

  it('rejects a wrong password with bad_password, and the server stays failed', () => {
    const client = new ScramClient({ password: 'guess', mechanisms: ['SCRAM-SHA-256'] });
    const server = new ScramServer(secret);
    const final = client.clientFinal(server.start(client.mechanism, client.clientFirst()));
    expectScramError(() => server.finish(final), 'bad_password');
    expectScramError(() => server.finish(final), 'bad_message');
  });

  it('rejects a tampered nonce in client-final-message', () => {
    const client = new ScramClient({ password: 'one-time-3f9a', mechanisms: ['SCRAM-SHA-256'] });
    const server = new ScramServer(secret);
    const final = text(client.clientFinal(server.start(client.mechanism, client.clientFirst())));
    const tampered = final.replace(/,r=([^,]*)X?,/, (_m, nonce: string) => `,r=${nonce}X,`);
    expect(tampered).not.toBe(final);
    expectScramError(() => server.finish(bytes(tampered)), 'bad_nonce');
  });

  it('rejects a tampered channel-binding echo', () => {
    const client = new ScramClient({ password: 'one-time-3f9a', mechanisms: ['SCRAM-SHA-256'] });
    const server = new ScramServer(secret);
    const final = text(client.clientFinal(server.start(client.mechanism, client.clientFirst())));
    expectScramError(() => server.finish(bytes(final.replace('c=biws', 'c=eSws'))), 'channel_binding');
  });

  it('rejects a server nonce that does not extend the client nonce', () => {
    const client = new ScramClient({
      password: 'x',
      mechanisms: ['SCRAM-SHA-256'],
      randomNonce: () => 'abc',
    });
    client.clientFirst();
    expectScramError(() => client.clientFinal(bytes('r=abd123,s=QUJDRA==,i=4096')), 'bad_nonce');
  });

  it('rejects a server-first-message with a bad iteration count', () => {
    for (const count of ['0', '-1', 'x', '']) {
      const client = new ScramClient({
        password: 'x',
        mechanisms: ['SCRAM-SHA-256'],
        randomNonce: () => 'abc',
      });
      client.clientFirst();
      expectScramError(() => client.clientFinal(bytes(`r=abcdef,s=QUJDRA==,i=${count}`)), 'bad_message');
    }
  });

  it("maps the server's e= errors", () => {
    const client = new ScramClient({
      password: 'x',
      mechanisms: ['SCRAM-SHA-256'],
      randomNonce: () => 'abc',
    });
    client.clientFirst();
    client.clientFinal(bytes('r=abcdef,s=QUJDRA==,i=1'));
    expectScramError(() => client.verifyServerFinal(bytes('e=invalid-proof')), 'bad_password');
  });

  it('refuses calls out of order', () => {
    const client = new ScramClient({ password: 'x', mechanisms: ['SCRAM-SHA-256'] });
    expectScramError(() => client.clientFinal(bytes('r=abc,s=QUJDRA==,i=1')), 'bad_message');
    expectScramError(() => new ScramServer(secret).finish(bytes(RFC.clientFinal)), 'bad_message');
  });

  it('reuses the salted-password cache keyed by salt and iterations', () => {
    const cache = new Map<string, Buffer>();
    const server = new ScramServer(secret);
    roundTrip(
      new ScramClient({
        password: 'one-time-3f9a',
        mechanisms: ['SCRAM-SHA-256'],
        saltedPasswordCache: cache,
      }),
      server,
    );
    const key = `${secret.salt.toString('base64')}:64`;
    expect([...cache.keys()]).toEqual([key]);
    // A poisoned entry proves the cache is read: the exchange now fails although the password is right.
    cache.set(key, Buffer.alloc(32));
    const client = new ScramClient({
      password: 'one-time-3f9a',
      mechanisms: ['SCRAM-SHA-256'],
      saltedPasswordCache: cache,
    });
    const server2 = new ScramServer(secret);
    const final = client.clientFinal(server2.start(client.mechanism, client.clientFirst()));
    expectScramError(() => server2.finish(final), 'bad_password');
  });
});

describe('mechanism and channel-binding negotiation', () => {
  it("rejects a client-first-message with a 'p=' gs2 header", () => {
    const server = new ScramServer(scramSecret('pw', { iterations: 1 }));
    expectScramError(
      () => server.start('SCRAM-SHA-256', bytes('p=tls-server-end-point,,n=*,r=abcdef')),
      'channel_binding',
    );
  });

  it('rejects SCRAM-SHA-256-PLUS and unknown mechanisms on the server', () => {
    const secret = scramSecret('pw', { iterations: 1 });
    expectScramError(
      () => new ScramServer(secret).start('SCRAM-SHA-256-PLUS', bytes('n,,n=*,r=abc')),
      'unsupported_mechanism',
    );
    expectScramError(
      () => new ScramServer(secret).start('PLAIN', bytes('n,,n=*,r=abc')),
      'unsupported_mechanism',
    );
  });

  it('rejects malformed client-first-messages', () => {
    const secret = scramSecret('pw', { iterations: 1 });
    for (const message of [
      '',
      'n,',
      'x,,n=*,r=abc',
      'n,a=admin,n=*,r=abc',
      'n,,r=abc',
      'n,,m=ext,n=*,r=abc',
    ]) {
      expectScramError(() => new ScramServer(secret).start('SCRAM-SHA-256', bytes(message)), 'bad_message');
    }
    expectScramError(
      () => new ScramServer(secret).start('SCRAM-SHA-256', Buffer.from([0x6e, 0x2c, 0x2c, 0xff])),
      'bad_message',
    );
  });

  it('uses SCRAM-SHA-256-PLUS with the tls-server-end-point hash when offered and TLS is up', () => {
    const binding = randomBytes(32);
    const client = new ScramClient({
      password: 'pw',
      mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'],
      channelBinding: binding,
      randomNonce: () => 'abc',
    });
    expect(client.mechanism).toBe('SCRAM-SHA-256-PLUS');
    expect(text(client.clientFirst())).toBe('p=tls-server-end-point,,n=*,r=abc');
    const final = text(client.clientFinal(bytes('r=abcdef,s=QUJDRA==,i=1')));
    const c = /^c=([^,]*),/.exec(final)?.[1] ?? '';
    expect(Buffer.from(c, 'base64')).toEqual(Buffer.concat([bytes('p=tls-server-end-point,,'), binding]));
  });

  it("uses 'n,,' without TLS even when PLUS is offered", () => {
    const client = new ScramClient({ password: 'pw', mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] });
    expect(client.mechanism).toBe('SCRAM-SHA-256');
    expect(text(client.clientFirst()).startsWith('n,,n=*,r=')).toBe(true);
  });

  it('fails with unsupported_mechanism when nothing usable is offered', () => {
    expectScramError(
      () => new ScramClient({ password: 'pw', mechanisms: ['SCRAM-SHA-256-PLUS'] }),
      'unsupported_mechanism',
    );
    expectScramError(
      () => new ScramClient({ password: 'pw', mechanisms: ['OAUTHBEARER'] }),
      'unsupported_mechanism',
    );
  });
});

describe('verifiers', () => {
  it('formats a verifier that parses back into keys derived independently', () => {
    const salt = randomBytes(16);
    const verifier = scramVerifier('hunter2', { salt, iterations: 4096 });
    const secret = parseVerifier(verifier);
    expect(secret.iterations).toBe(4096);
    expect(secret.salt).toEqual(salt);
    const salted = pbkdf2Sync('hunter2', salt, 4096, 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    expect(secret.storedKey).toEqual(createHash('sha256').update(clientKey).digest());
    expect(secret.serverKey).toEqual(createHmac('sha256', salted).update('Server Key').digest());
    expect(formatVerifier(secret)).toBe(verifier);
    // The parsed secret authenticates a client that knows the password.
    expect(
      roundTrip(
        new ScramClient({ password: 'hunter2', mechanisms: ['SCRAM-SHA-256'] }),
        new ScramServer(secret),
      ),
    ).toMatch(/^v=/);
  });

  it('defaults to a random 16-byte salt and 4096 iterations', () => {
    const a = scramSecret('pw');
    const b = scramSecret('pw');
    expect(a.iterations).toBe(4096);
    expect(a.salt).toHaveLength(16);
    expect(a.salt).not.toEqual(b.salt);
  });

  it('rejects bad iteration counts and empty salts', () => {
    expectScramError(() => scramSecret('pw', { iterations: 0 }), 'bad_message');
    expectScramError(() => scramSecret('pw', { iterations: 1.5 }), 'bad_message');
    expectScramError(() => scramSecret('pw', { salt: Buffer.alloc(0) }), 'bad_message');
  });
});

describe('verifiers against the real PostgreSQL', () => {
  const adminUrl = inject('adminUrl');
  const role = `jit_scram_${randomBytes(4).toString('hex')}`;

  afterAll(async () => {
    await withClient(adminUrl, (c) => c.query(`DROP ROLE IF EXISTS ${role}`));
  });

  // ASCII, then SASLprep: a no-break space maps to ' ', a soft hyphen to nothing, 'Ⅸ' NFKC-normalizes to 'IX'.
  for (const password of ['plain-Ascii_123', 'p\u00e4ss\u00a0w\u00adord\u2168']) {
    it(`computes PostgreSQL's own verifier for ${JSON.stringify(password)}`, async () => {
      const stored = await withClient(adminUrl, async (c) => {
        await c.query(`CREATE ROLE ${role} LOGIN`);
        try {
          await c.query(`SET password_encryption = 'scram-sha-256'`);
          await c.query(`ALTER ROLE ${role} PASSWORD ${c.escapeLiteral(password)}`);
          const result = await c.query<{ rolpassword: string }>(
            'SELECT rolpassword FROM pg_authid WHERE rolname = $1',
            [role],
          );
          return result.rows[0]?.rolpassword ?? '';
        } finally {
          await c.query(`DROP ROLE ${role}`);
        }
      });
      const { salt, iterations } = parseVerifier(stored);
      expect(scramVerifier(password, { salt, iterations })).toBe(stored);
    });
  }

  it('logs in with a role whose password was set from our verifier', async () => {
    const password = `otp-${randomBytes(12).toString('hex')}`;
    await withClient(adminUrl, (c) =>
      c.query(`CREATE ROLE ${role} LOGIN PASSWORD '${scramVerifier(password)}'`),
    );
    const url = new URL(adminUrl);
    const client = new pg.Client({
      host: url.hostname,
      port: Number(url.port),
      database: 'postgres',
      user: role,
      password,
    });
    await client.connect();
    try {
      const result = await client.query<{ user: string }>('SELECT current_user AS user');
      expect(result.rows[0]?.user).toBe(role);
    } finally {
      await client.end();
    }
  });
});

describe('tlsServerEndPoint', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'jit-scram-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh self-signed DER certificate made by `openssl req -x509` with the given key/digest arguments. */
  function certificate(name: string, args: string[]): Buffer {
    const out = path.join(dir, `${name}.der`);
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        ...args,
        '-nodes',
        '-keyout',
        path.join(dir, `${name}.key`),
        '-outform',
        'DER',
        '-out',
        out,
        '-subj',
        '/CN=jit-test',
        '-days',
        '1',
      ],
      { stdio: 'ignore' },
    );
    return readFileSync(out);
  }

  const sha = (algorithm: string, der: Buffer): Buffer => createHash(algorithm).update(der).digest();

  it('hashes an RSA-SHA256 certificate with SHA-256', () => {
    const der = certificate('rsa-sha256', ['-newkey', 'rsa:2048', '-sha256']);
    expect(tlsServerEndPoint(der)).toEqual(sha('sha256', der));
  });

  it('uses SHA-256 for a SHA-1 signature', () => {
    const der = certificate('rsa-sha1', ['-newkey', 'rsa:2048', '-sha1']);
    expect(tlsServerEndPoint(der)).toEqual(sha('sha256', der));
  });

  it("uses the signature's hash for ECDSA-SHA384 and RSASSA-PSS-SHA512", () => {
    const ec = certificate('ec-sha384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-sha384']);
    expect(tlsServerEndPoint(ec)).toEqual(sha('sha384', ec));
    const pss = certificate('pss-sha512', [
      '-newkey',
      'rsa:2048',
      '-sha512',
      '-sigopt',
      'rsa_padding_mode:pss',
    ]);
    expect(tlsServerEndPoint(pss)).toEqual(sha('sha512', pss));
  });

  it('refuses certificates without a single signature hash, and non-DER input', () => {
    expectScramError(
      () => tlsServerEndPoint(certificate('ed25519', ['-newkey', 'ed25519'])),
      'channel_binding',
    );
    expectScramError(() => tlsServerEndPoint(Buffer.from('not a certificate')), 'channel_binding');
    expectScramError(() => tlsServerEndPoint(Buffer.from([0x30, 0x82, 0xff])), 'channel_binding');
  });
});
