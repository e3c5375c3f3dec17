/**
 * Certificates made at test time with the `openssl` CLI (OpenSSL 3; scripts/prereqs.sh
 * installs it): a test CA that issues loopback server certificates (SAN IP 127.0.0.1) and
 * client certificates, and self-signed client certificates. Every key is EC P-256, every
 * certificate valid for a day; nothing is written outside a temporary folder, which is
 * removed before a function returns. Node's crypto reads X.509 but cannot issue it, hence
 * the CLI.
 */
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A PEM certificate and its PEM (PKCS8) private key. */
export interface CertificateAndKey {
  readonly cert: string;
  readonly key: string;
}

export interface TestCa extends CertificateAndKey {
  /** A server certificate for 127.0.0.1 (and `localhost`). */
  issueServer(commonName: string): CertificateAndKey;
  /** A client certificate (extendedKeyUsage clientAuth) with subject `/O=<o>/CN=<cn>`. */
  issueClient(subject: { readonly cn: string; readonly o?: string }): CertificateAndKey;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Run `work` in a fresh temporary folder with an `openssl` runner, then remove the folder. */
function inTemporaryFolder<T>(work: (openssl: (...args: string[]) => void, dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'steadfast-test-ca-'));
  try {
    return work((...args) => {
      execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    }, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function subjectOf(subject: { readonly cn: string; readonly o?: string }): string {
  return `${subject.o === undefined ? '' : `/O=${subject.o}`}/CN=${subject.cn}`;
}

/** A new CA (`/O=Steadfast Test/CN=<name>`), able to issue server and client certificates. */
export function createTestCa(name: string): TestCa {
  const ca = inTemporaryFolder((openssl, dir) => {
    openssl(
      'req',
      '-x509',
      ...EC_KEY,
      '-days',
      '1',
      '-subj',
      `/O=Steadfast Test/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    );
    return {
      cert: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      key: readFileSync(join(dir, 'ca.key'), 'utf8'),
    };
  });

  const issue = (subject: string, extensions: string): CertificateAndKey =>
    inTemporaryFolder((openssl, dir) => {
      writeFileSync(join(dir, 'ca.crt'), ca.cert);
      writeFileSync(join(dir, 'ca.key'), ca.key, { mode: 0o600 });
      writeFileSync(join(dir, 'ext.cnf'), extensions);
      openssl('req', ...EC_KEY, '-subj', subject, '-keyout', 'leaf.key', '-out', 'leaf.csr');
      openssl(
        'x509',
        '-req',
        '-in',
        'leaf.csr',
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        `0x${createHash('sha256').update(`${Math.random()}`).digest('hex').slice(0, 16)}`,
        '-days',
        '1',
        '-extfile',
        'ext.cnf',
        '-out',
        'leaf.crt',
      );
      return {
        cert: readFileSync(join(dir, 'leaf.crt'), 'utf8'),
        key: readFileSync(join(dir, 'leaf.key'), 'utf8'),
      };
    });

  return {
    ...ca,
    issueServer: (commonName) =>
      issue(
        `/O=Steadfast Test/CN=${commonName}`,
        [
          'basicConstraints=CA:FALSE',
          'keyUsage=critical,digitalSignature',
          'extendedKeyUsage=serverAuth',
          'subjectAltName=IP:127.0.0.1,DNS:localhost',
        ].join('\n'),
      ),
    issueClient: (subject) =>
      issue(
        subjectOf(subject),
        [
          'basicConstraints=CA:FALSE',
          'keyUsage=critical,digitalSignature',
          'extendedKeyUsage=clientAuth',
        ].join('\n'),
      ),
  };
}

/** A self-signed client certificate (`self_signed_tls_client_auth`), subject `/CN=<cn>`. */
export function selfSignedCertificate(commonName: string): CertificateAndKey {
  return inTemporaryFolder((openssl, dir) => {
    openssl(
      'req',
      '-x509',
      ...EC_KEY,
      '-days',
      '1',
      '-subj',
      `/CN=${commonName}`,
      '-addext',
      'extendedKeyUsage=clientAuth',
      '-keyout',
      'self.key',
      '-out',
      'self.crt',
    );
    return {
      cert: readFileSync(join(dir, 'self.crt'), 'utf8'),
      key: readFileSync(join(dir, 'self.key'), 'utf8'),
    };
  });
}

/** RFC 8705 §3.1 `x5t#S256` of a PEM certificate: base64url SHA-256 of its DER. */
export function thumbprintOf(cert: string): string {
  return createHash('sha256').update(new X509Certificate(cert).raw).digest('base64url');
}

/** The certificate's base64 DER, as a JWK's `x5c` carries it (RFC 7517 §4.7). */
export function x5cOf(cert: string): string {
  return new X509Certificate(cert).raw.toString('base64');
}

/** The subject as an RFC 4514 string (`CN=…,O=…`), as `tls_client_auth_subject_dn` holds it. */
export function subjectDnOf(cert: string): string {
  return new X509Certificate(cert).subject.split('\n').reverse().join(',');
}
