import { createHash, createPrivateKey, KeyObject, X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import { Agent, Client, type Dispatcher, Pool } from 'undici';

/**
 * The client certificate of mutual TLS (RFC 8705): what authenticates the client at the
 * token endpoint (`tls_client_auth`, `self_signed_tls_client_auth`, §2) and what
 * certificate-bound access tokens (`cnf.x5t#S256`, §3) are bound to. Read and checked once,
 * at construction; messages name the field that is wrong, never key material.
 */

/** A client certificate and its private key, as given in the `clientCertificate` option. */
export interface ClientCertificate {
  /**
   * The client's X.509 certificate, PEM. The first certificate is the client's; intermediate
   * CA certificates may follow it (they are sent in the handshake).
   */
  readonly cert: string | Buffer;
  /**
   * Its private key: PEM (PKCS8, PKCS1, SEC1; encrypted with `passphrase`) or a private node
   * `KeyObject`. Used only by TLS; never logged, stored or emitted.
   */
  readonly key: string | Buffer | KeyObject;
  /**
   * PEM CA certificate(s) the servers' certificates are verified against on these connections
   * (token endpoint, and the API origins the token goes to), **in addition** to Node's default
   * trusted CAs: a private PKI's root for an IdP or API that is not publicly trusted.
   */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** The passphrase of an encrypted PEM `key`. */
  readonly passphrase?: string;
}

/**
 * A client certificate ready to be presented: one TLS context (the key decrypted and the CAs
 * parsed once, not per connection), and the certificate's thumbprint.
 */
export interface PresentedCertificate {
  /** base64url SHA-256 of the DER certificate: the `x5t#S256` of a token bound to it (RFC 8705 §3.1). */
  readonly thumbprint: string;
  /** What an undici `connect` option needs to present it (and to trust `ca`). */
  readonly tls: { readonly secureContext: tls.SecureContext };
}

const FIELDS = ['cert', 'key', 'ca', 'passphrase'];
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

const isPem = (value: unknown): value is string | Buffer =>
  typeof value === 'string' || Buffer.isBuffer(value);

/** The shape of the option (types and fields); what is wrong, naming the field. */
export function clientCertificateShapeProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return 'must be an object { cert, key, ca?, passphrase? }';
  }
  const o = value as Record<string, unknown>;
  const unknown = Object.keys(o).find((field) => !FIELDS.includes(field));
  if (unknown !== undefined) return `has an unknown field "${unknown}"; allowed: ${FIELDS}`;
  if (!isPem(o.cert)) return '`cert` must be a PEM certificate (a string or a Buffer)';
  if (!isPem(o.key) && !(o.key instanceof KeyObject)) {
    return '`key` must be a PEM private key (a string or a Buffer) or a private KeyObject';
  }
  if (o.passphrase !== undefined && typeof o.passphrase !== 'string') {
    return '`passphrase` must be a string';
  }
  const ca = o.ca;
  if (ca !== undefined && !isPem(ca) && !(Array.isArray(ca) && ca.length > 0 && ca.every(isPem))) {
    return '`ca` must be PEM (a string, a Buffer or a non-empty list of them)';
  }
  return undefined;
}

/** The certificates of a PEM text, parsed, or `undefined` when it holds none or one is bad. */
function certificatesOf(pem: string | Buffer): X509Certificate[] | undefined {
  const blocks = String(pem).match(PEM_CERTIFICATE);
  if (!blocks) return undefined;
  try {
    return blocks.map((block) => new X509Certificate(block));
  } catch {
    return undefined;
  }
}

/** The private key, or what is wrong with it (node's messages may quote the key: not used). */
function privateKeyOf(given: ClientCertificate): KeyObject | string {
  const { key, passphrase } = given;
  if (key instanceof KeyObject) {
    return key.type === 'private' ? key : `must be a private key, got a ${key.type} KeyObject`;
  }
  const text = String(key);
  if (!text.includes('-----BEGIN')) return 'must be a PEM private key (-----BEGIN ...)';
  const encrypted = /ENCRYPTED/.test(text);
  if (encrypted && passphrase === undefined) {
    return 'is an encrypted PEM key: give its `passphrase` in clientCertificate.passphrase';
  }
  try {
    return createPrivateKey({ key, format: 'pem', ...(encrypted ? { passphrase } : {}) });
  } catch {
    return encrypted
      ? 'could not be decrypted with `passphrase` (a wrong passphrase?)'
      : 'could not be read as a PEM private key';
  }
}

/**
 * Node's default trusted CAs, which a `ca` option adds to (as `NODE_EXTRA_CA_CERTS` does):
 * with `getCACertificates` (Node >= 22.15) what node trusts by default, else its bundled roots.
 */
function defaultCertificates(): readonly string[] {
  const read = (tls as { getCACertificates?: (kind: 'default') => string[] }).getCACertificates;
  return read?.('default') ?? tls.rootCertificates;
}

/**
 * Read and check a `clientCertificate` whose shape {@link clientCertificateShapeProblem}
 * accepted: the certificate parses as X.509 and has not expired, the key is private, opens
 * with the passphrase and belongs to the certificate, each CA parses. Returns it ready to
 * present, or `[field, problem]` (the field below `clientCertificate`).
 */
export function readClientCertificate(
  given: ClientCertificate,
  nowMs: number = Date.now(),
): PresentedCertificate | readonly [field: string, problem: string] {
  const certificates = certificatesOf(given.cert);
  const leaf = certificates?.[0];
  if (!leaf)
    return ['cert', 'could not be read as a PEM X.509 certificate (-----BEGIN CERTIFICATE-----)'];
  // A certificate not valid yet is accepted: it works once its time comes (or the clock catches up).
  if (Date.parse(leaf.validTo) < nowMs) return ['cert', `expired on ${leaf.validTo}`];
  const key = privateKeyOf(given);
  if (typeof key === 'string') return ['key', key];
  if (!leaf.checkPrivateKey(key)) {
    return ['key', 'does not belong to `cert` (the certificate holds another public key)'];
  }
  const extra = given.ca === undefined ? [] : Array.isArray(given.ca) ? given.ca : [given.ca];
  const cas: string[] = [];
  for (const pem of extra as (string | Buffer)[]) {
    const parsed = certificatesOf(pem);
    if (!parsed) return ['ca', 'could not be read as PEM X.509 CA certificates'];
    cas.push(...parsed.map((c) => c.toString()));
  }
  let secureContext: tls.SecureContext;
  try {
    secureContext = tls.createSecureContext({
      cert: given.cert,
      // The key as read (decrypted once), so TLS never needs the passphrase.
      key: key.export({ format: 'pem', type: 'pkcs8' }),
      ...(cas.length > 0 ? { ca: [...defaultCertificates(), ...cas] } : {}),
    });
  } catch {
    return ['cert', 'could not be used for TLS with this key'];
  }
  return { thumbprint: certificateThumbprint(leaf), tls: { secureContext } };
}

/** RFC 8705 §3.1 `x5t#S256`: base64url SHA-256 of the DER certificate. */
export function certificateThumbprint(certificate: X509Certificate): string {
  return createHash('sha256').update(certificate.raw).digest('base64url');
}

/** The undici Agent of the token requests: every connection presents the certificate. */
export function certificateAgent(certificate: PresentedCertificate): Agent {
  return new Agent({ connect: { ...certificate.tls } });
}

/**
 * An undici `Agent` factory whose pools present the certificate on connections to `origins`
 * only (the origins the token goes to); any other origin gets a plain pool, as undici's
 * default factory makes it. The certificate is thus never shown to a server that is not
 * sent the token.
 */
export function presentingCertificateTo(
  origins: ReadonlySet<string>,
  certificate: PresentedCertificate,
): (origin: string | URL, options: object) => Dispatcher {
  return (origin, options) => {
    const opts = options as { connections?: number | null; connect?: object };
    const own = origins.has(new URL(String(origin)).origin)
      ? { ...opts, connect: { ...opts.connect, ...certificate.tls } }
      : opts;
    return opts.connections === 1 ? new Client(origin, own) : new Pool(origin, own);
  };
}
