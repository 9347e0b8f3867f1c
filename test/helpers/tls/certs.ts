import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

/** A PEM certificate and its private key, as file paths. */
export interface CertFiles {
  cert: string;
  key: string;
}

/** The PKI the TLS tests need: two unrelated CAs and leaf certificates signed by them. */
export interface TestPki {
  /** The CA the servers' certificates chain to. */
  ca: CertFiles;
  /** A second, unrelated CA: trusting it must not make the servers' certificates valid. */
  otherCa: CertFiles;
  /** CN=localhost, SAN DNS:localhost only, signed by `ca` with SHA-384 (not the usual SHA-256): valid for `localhost`, not for `127.0.0.1`. */
  serverDnsOnly: CertFiles;
  /**
   * CN=127.0.0.1, SAN IP:127.0.0.1 only, signed by `ca`: valid for `127.0.0.1`, not for `localhost`.
   * Not CN=localhost: with no DNS name in the SAN, Node's checkServerIdentity falls back to the CN.
   */
  serverIpOnly: CertFiles;
  /** SAN DNS:localhost + IP:127.0.0.1, its own key, also signed by `ca` (a mis-issued certificate). */
  impostor: CertFiles;
  /** SAN DNS:localhost + IP:127.0.0.1, signed by `otherCa`. */
  untrusted: CertFiles;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await execa('openssl', args, { cwd, stdin: 'ignore' });
}

/** EC P-256 keys: much faster to generate than RSA, and every party here supports them. */
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, name: string): Promise<CertFiles> {
  const files = { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
  await openssl(
    [
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      files.key,
      '-out',
      files.cert,
      '-days',
      '2',
      '-subj',
      `/CN=jit test ${name} ${randomBytes(4).toString('hex')}`,
    ],
    dir,
  );
  return files;
}

async function makeLeaf(
  dir: string,
  name: string,
  issuer: CertFiles,
  opts: { cn: string; san: string; digest: 'sha256' | 'sha384' },
): Promise<CertFiles> {
  const files = { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  await writeFile(
    ext,
    [
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = serverAuth',
      `subjectAltName = ${opts.san}`,
      '',
    ].join('\n'),
  );
  await openssl(
    ['req', '-new', ...EC_KEY, '-keyout', files.key, '-out', csr, '-subj', `/CN=${opts.cn}`],
    dir,
  );
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      issuer.cert,
      '-CAkey',
      issuer.key,
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      '2',
      `-${opts.digest}`,
      '-extfile',
      ext,
      '-out',
      files.cert,
    ],
    dir,
  );
  return files;
}

/** Generates the test PKI with openssl into `dir` (which must exist). Takes well under a second. */
export async function createTestPki(dir: string): Promise<TestPki> {
  const [ca, otherCa] = await Promise.all([makeCa(dir, 'ca'), makeCa(dir, 'other-ca')]);
  const full = 'DNS:localhost, IP:127.0.0.1';
  const [serverDnsOnly, serverIpOnly, impostor, untrusted] = await Promise.all([
    makeLeaf(dir, 'server-dns-only', ca, { cn: 'localhost', san: 'DNS:localhost', digest: 'sha384' }),
    makeLeaf(dir, 'server-ip-only', ca, { cn: '127.0.0.1', san: 'IP:127.0.0.1', digest: 'sha256' }),
    makeLeaf(dir, 'impostor', ca, { cn: 'localhost', san: full, digest: 'sha256' }),
    makeLeaf(dir, 'untrusted', otherCa, { cn: 'localhost', san: full, digest: 'sha256' }),
  ]);
  return { ca, otherCa, serverDnsOnly, serverIpOnly, impostor, untrusted };
}
