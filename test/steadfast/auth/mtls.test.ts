/**
 * Mutual TLS (RFC 8705): `tls_client_auth` and `self_signed_tls_client_auth` at the token
 * endpoint, and certificate-bound access tokens on API calls, against oidc-provider
 * in-process over HTTPS (test/helpers/mtls-idp.ts) and a loopback HTTPS resource server that
 * accepts a bound token only from a connection presenting its certificate. The CA and every
 * certificate are made at test time (test/helpers/test-ca.ts).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  presentingCertificateTo,
  readClientCertificate,
} from '../../../packages/steadfast/src/auth/client-certificate.js';
import {
  type ClientCredentialsOptions,
  clientCredentials,
  memoryTokenStore,
} from '../../../packages/steadfast/src/auth/index.js';
import { createClient } from '../../../packages/steadfast/src/client.js';
import {
  InvalidConfigurationError,
  TokenUnavailableError,
} from '../../../packages/steadfast/src/errors.js';
import {
  type MtlsClient,
  type MtlsIdp,
  startMtlsIdp,
  type TokenRequest,
} from '../../helpers/mtls-idp.js';
import {
  type CertificateAndKey,
  createTestCa,
  selfSignedCertificate,
  subjectDnOf,
  thumbprintOf,
} from '../../helpers/test-ca.js';
import { refusedFiveTimes as refused } from './refused.js';

const NO_TELEMETRY = { metrics: false, tracing: false } as const;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

// One CA for the servers and the trusted client certificates, made once for the file.
const ca = createTestCa('steadfast-test-ca');
const SUBJECT = { cn: 'mtls-worker', o: 'Steadfast Test' };
const worker = ca.issueClient(SUBJECT);

async function idp(clients: readonly MtlsClient[]): Promise<MtlsIdp> {
  const started = await startMtlsIdp({ ca, clients });
  cleanups.push(() => started.close());
  return started;
}

function authorize(options: ClientCredentialsOptions) {
  const auth = clientCredentials({ scope: 'data.read', ...options });
  cleanups.push(() => auth.close());
  return auth;
}

/** The certificate option for a test certificate: the servers are trusted through the test CA. */
const certificate = (given: CertificateAndKey) => ({
  cert: given.cert,
  key: given.key,
  ca: ca.cert,
});

async function callApi(auth: ReturnType<typeof authorize>, api: string): Promise<number> {
  const client = createClient({ name: 'mtls-api', baseUrl: api, auth, telemetry: NO_TELEMETRY });
  cleanups.push(() => client.close());
  const response = await client.fetch('/data');
  await response.arrayBuffer();
  return response.status;
}

/** The base64 body lines of a PEM key: what must never be shown. */
const keyLines = (pem: string) => pem.split('\n').filter((l) => l && !l.startsWith('-----'));

/** Five calls refused with `invalid_client` after one token request; nothing shown quotes the key. */
async function refusedFiveTimes(server: MtlsIdp, auth: ReturnType<typeof authorize>, key: string) {
  const shown = await refused(auth, server.apiUrl, server.tokenRequests);
  expect(server.apiRequests()).toEqual([]);
  for (const line of keyLines(key)) expect(shown).not.toContain(line);
}

describe('tls_client_auth', () => {
  it('gets a token bound to the certificate with client_id and no secret, and a 200', async () => {
    const server = await idp([
      { clientId: 'tls-worker', method: 'tls_client_auth', subjectDn: subjectDnOf(worker.cert) },
    ]);
    const auth = authorize({
      tokenUrl: server.tokenEndpoint,
      clientId: 'tls-worker',
      clientAuthMethod: 'tls_client_auth',
      clientCertificate: certificate(worker),
    });
    expect(await callApi(auth, server.apiUrl)).toBe(200);
    expect(server.tokenRequests()).toBe(1);
    expect(server.tokenForms()[0]).toMatchObject({
      certificate: thumbprintOf(worker.cert),
      verified: true,
    });
    const [{ form, authorization }] = server.tokenForms() as [TokenRequest];
    expect(authorization).toBe(false);
    expect(form.get('client_id')).toBe('tls-worker');
    expect([...form.keys()].sort()).toEqual(['client_id', 'grant_type', 'scope']);
    const thumbprint = thumbprintOf(worker.cert);
    expect(server.apiRequests()).toEqual([{ certificate: thumbprint, status: 200 }]);
    const { value } = await auth.getToken();
    expect((await server.introspect(value)).cnf).toEqual({ 'x5t#S256': thumbprint });
  });

  it('fails with invalid_client on a certificate of another CA, after one token request', async () => {
    const server = await idp([
      { clientId: 'tls-worker', method: 'tls_client_auth', subjectDn: subjectDnOf(worker.cert) },
    ]);
    // Same subject, but issued by a CA the IdP does not trust.
    const impostor = createTestCa('another-ca').issueClient(SUBJECT);
    const auth = authorize({
      tokenUrl: server.tokenEndpoint,
      clientId: 'tls-worker',
      clientAuthMethod: 'tls_client_auth',
      clientCertificate: certificate(impostor),
    });
    await refusedFiveTimes(server, auth, impostor.key);
    // It was presented, and refused for its issuer.
    expect(server.tokenForms()[0]).toMatchObject({
      certificate: thumbprintOf(impostor.cert),
      verified: false,
    });
  });

  it('binds for real: the token without its certificate, or with another, is refused', async () => {
    const server = await idp([
      { clientId: 'tls-worker', method: 'tls_client_auth', subjectDn: subjectDnOf(worker.cert) },
    ]);
    const auth = authorize({
      tokenUrl: server.tokenEndpoint,
      clientId: 'tls-worker',
      clientAuthMethod: 'tls_client_auth',
      clientCertificate: certificate(worker),
    });
    const { value } = await auth.getToken();
    const other = ca.issueClient({ cn: 'someone-else', o: 'Steadfast Test' });
    const send = async (connect: object) => {
      const agent = new Agent({ connect: { ca: ca.cert, ...connect } });
      cleanups.push(() => agent.destroy());
      const answer = await request(`${server.apiUrl}/data`, {
        headers: { authorization: `Bearer ${value}` },
        dispatcher: agent,
      });
      await answer.body.dump();
      return answer.statusCode;
    };
    expect(await send({})).toBe(401);
    expect(await send({ cert: other.cert, key: other.key })).toBe(401);
    expect(await send({ cert: worker.cert, key: worker.key })).toBe(200);
    expect(server.apiRequests().map((r) => r.refusal)).toEqual([
      'certificate mismatch',
      'certificate mismatch',
      undefined,
    ]);
  });

  it('names the credential by the certificate: a rotated certificate gets its own token', async () => {
    const server = await idp([
      { clientId: 'tls-worker', method: 'tls_client_auth', subjectDn: subjectDnOf(worker.cert) },
    ]);
    const rotated = ca.issueClient(SUBJECT);
    const store = memoryTokenStore();
    const base = {
      tokenUrl: server.tokenEndpoint,
      clientId: 'tls-worker',
      clientAuthMethod: 'tls_client_auth' as const,
      store,
    };
    const first = authorize({ ...base, clientCertificate: certificate(worker) });
    const second = authorize({ ...base, clientCertificate: certificate(rotated) });
    // The same certificate with its key as a KeyObject: the same credential.
    const same = authorize({
      ...base,
      clientCertificate: { ...certificate(worker), key: createPrivateKey(worker.key) },
    });
    const [t1, t2] = [await first.getToken(), await second.getToken()];
    expect(t1.value).not.toBe(t2.value);
    expect((await same.getToken()).value).toBe(t1.value);
    expect(server.tokenRequests()).toBe(2);
    expect((await server.introspect(t2.value)).cnf?.['x5t#S256']).toBe(thumbprintOf(rotated.cert));
  });

  it('reads an encrypted PEM key with its passphrase', async () => {
    const server = await idp([
      { clientId: 'tls-worker', method: 'tls_client_auth', subjectDn: subjectDnOf(worker.cert) },
    ]);
    const passphrase = 'correct horse battery staple';
    const encrypted = createPrivateKey(worker.key).export({
      format: 'pem',
      type: 'pkcs8',
      cipher: 'aes-256-cbc',
      passphrase,
    }) as string;
    const auth = authorize({
      tokenUrl: server.tokenEndpoint,
      clientId: 'tls-worker',
      clientAuthMethod: 'tls_client_auth',
      clientCertificate: { cert: worker.cert, key: encrypted, passphrase, ca: ca.cert },
    });
    expect(await callApi(auth, server.apiUrl)).toBe(200);
  });
});

describe('self_signed_tls_client_auth', () => {
  it('gets a token with a registered self-signed certificate at the discovered mTLS alias, and a 200', async () => {
    const self = selfSignedCertificate('self-worker');
    const server = await idp([
      {
        clientId: 'self-worker',
        method: 'self_signed_tls_client_auth',
        certificates: [self.cert],
      },
    ]);
    const auth = authorize({
      issuer: server.issuer,
      clientId: 'self-worker',
      clientAuthMethod: 'self_signed_tls_client_auth',
      clientCertificate: certificate(self),
    });
    expect(await callApi(auth, server.apiUrl)).toBe(200);
    // RFC 8705 §5: a client doing mutual TLS uses mtls_endpoint_aliases.token_endpoint.
    expect([server.tokenRequests(), server.aliasRequests()]).toEqual([1, 1]);
    const [{ form, authorization }] = server.tokenForms() as [TokenRequest];
    expect(authorization).toBe(false);
    expect([...form.keys()].sort()).toEqual(['client_id', 'grant_type', 'scope']);
    expect(server.apiRequests()).toEqual([{ certificate: thumbprintOf(self.cert), status: 200 }]);
  });

  it('fails with invalid_client on an unregistered certificate, after one token request', async () => {
    const registered = selfSignedCertificate('self-worker');
    const unregistered = selfSignedCertificate('self-worker');
    const server = await idp([
      {
        clientId: 'self-worker',
        method: 'self_signed_tls_client_auth',
        certificates: [registered.cert],
      },
    ]);
    const auth = authorize({
      tokenUrl: server.tokenEndpoint,
      clientId: 'self-worker',
      clientAuthMethod: 'self_signed_tls_client_auth',
      clientCertificate: certificate(unregistered),
    });
    await refusedFiveTimes(server, auth, unregistered.key);
    expect(server.tokenForms()[0]!.certificate).toBe(thumbprintOf(unregistered.cert));
  });
});

describe('certificate-bound tokens with another client authentication method', () => {
  it('client_secret_basic with clientCertificate: the token is bound, the API accepts it', async () => {
    const clientSecret = 'bound-secret-5a6b7c8d';
    const server = await idp([
      { clientId: 'secret-worker', method: 'client_secret_basic', clientSecret },
    ]);
    const auth = authorize({
      tokenUrl: server.tokenEndpoint,
      clientId: 'secret-worker',
      clientSecret,
      clientCertificate: certificate(worker),
    });
    expect(await callApi(auth, server.apiUrl)).toBe(200);
    expect(server.tokenForms()[0]!.authorization).toBe(true);
    const { value } = await auth.getToken();
    expect((await server.introspect(value)).cnf).toEqual({
      'x5t#S256': thumbprintOf(worker.cert),
    });
  });

  it('without clientCertificate the client cannot use the bound token: the IdP refuses it one', async () => {
    const clientSecret = 'bound-secret-5a6b7c8d';
    const server = await idp([
      { clientId: 'secret-worker', method: 'client_secret_basic', clientSecret },
    ]);
    // The IdP's certificate is trusted through a dispatcher of the user's, presenting none.
    const dispatcher = new Agent({ connect: { ca: ca.cert } });
    cleanups.push(() => dispatcher.destroy());
    const auth = authorize({
      tokenUrl: server.tokenEndpoint,
      clientId: 'secret-worker',
      clientSecret,
      dispatcher,
    });
    const error = await auth.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenUnavailableError);
    // oidc-provider answers "mutual TLS client certificate not provided" as invalid_grant.
    expect((error as TokenUnavailableError).reason).toBe('invalid_grant');
    expect(server.tokenRequests()).toBe(1);
  });
});

describe('the certificate goes only where the token goes', () => {
  it('an Agent with presentingCertificateTo shows it to the token origins and to no other', async () => {
    const seen: (string | null)[] = [];
    const start = async () => {
      const server = createServer(
        { ...ca.issueServer('origin'), ca: ca.cert, requestCert: true, rejectUnauthorized: false },
        (req, res) => {
          const peer = (req.socket as TLSSocket).getPeerX509Certificate?.();
          seen.push(peer ? thumbprintOf(peer.toString()) : null);
          res.end('ok');
        },
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      });
      return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    const [tokenOrigin, elsewhere] = [await start(), await start()];
    const presented = readClientCertificate(certificate(worker));
    if (!('thumbprint' in presented)) throw new Error(presented.join(': '));
    // As the transport builds it, with the test CA trusted for every origin.
    const agent = new Agent({
      connect: { ca: ca.cert },
      factory: presentingCertificateTo(new Set([tokenOrigin]), presented),
    });
    cleanups.push(() => agent.destroy());
    for (const origin of [tokenOrigin, elsewhere]) {
      const answer = await request(`${origin}/`, { dispatcher: agent });
      await answer.body.dump();
    }
    expect(seen).toEqual([thumbprintOf(worker.cert), null]);
  });
});

describe('configuration', () => {
  const other = ca.issueClient({ cn: 'other' });
  const base = {
    tokenUrl: 'https://127.0.0.1:9/token',
    clientId: 'c',
    clientAuthMethod: 'tls_client_auth',
  };
  const encrypted = createPrivateKey(worker.key).export({
    format: 'pem',
    type: 'pkcs8',
    cipher: 'aes-256-cbc',
    passphrase: 'right-passphrase',
  }) as string;
  const bad: [string, Record<string, unknown>, string][] = [
    ['no certificate with tls_client_auth', {}, 'clientCertificate'],
    [
      'no certificate with self_signed_tls_client_auth',
      { clientAuthMethod: 'self_signed_tls_client_auth' },
      'clientCertificate',
    ],
    [
      'a secret with tls_client_auth',
      { clientSecret: 's', clientCertificate: certificate(worker) },
      'clientSecret',
    ],
    [
      'a private key with tls_client_auth',
      { privateKey: worker.key, clientCertificate: certificate(worker) },
      'privateKey',
    ],
    [
      "another certificate's key",
      { clientCertificate: { cert: worker.cert, key: other.key } },
      'clientCertificate.key',
    ],
    [
      'a truncated certificate',
      { clientCertificate: { cert: worker.cert.slice(0, 120), key: worker.key } },
      'clientCertificate.cert',
    ],
    [
      'a key where the certificate goes',
      { clientCertificate: { cert: worker.key, key: worker.key } },
      'clientCertificate.cert',
    ],
    [
      'an encrypted key without its passphrase',
      { clientCertificate: { cert: worker.cert, key: encrypted } },
      'clientCertificate.key',
    ],
    [
      'an encrypted key with a wrong passphrase',
      { clientCertificate: { cert: worker.cert, key: encrypted, passphrase: 'wrong' } },
      'clientCertificate.key',
    ],
    [
      'a public KeyObject',
      {
        clientCertificate: {
          cert: worker.cert,
          key: new X509Certificate(worker.cert).publicKey,
        },
      },
      'clientCertificate.key',
    ],
    [
      'a CA that is not a certificate',
      { clientCertificate: { ...certificate(worker), ca: 'not a certificate' } },
      'clientCertificate.ca',
    ],
    [
      'an unknown field',
      { clientCertificate: { ...certificate(worker), pfx: 'x' } },
      'clientCertificate',
    ],
    ['a string', { clientCertificate: worker.cert }, 'clientCertificate'],
  ];
  it.each(bad)('refuses %s, naming the option and never the key', (_, options, field) => {
    let error: unknown;
    try {
      clientCredentials({ ...base, ...options } as unknown as ClientCredentialsOptions);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect((error as InvalidConfigurationError).field).toBe(field);
    const message = (error as Error).message;
    for (const line of [...keyLines(worker.key), ...keyLines(other.key), ...keyLines(encrypted)])
      expect(message).not.toContain(line);
    expect(message).not.toContain('right-passphrase');
  });

  it('refuses an expired certificate (one not valid yet is accepted: its time comes)', () => {
    const { validTo, validFrom } = new X509Certificate(worker.cert);
    expect(readClientCertificate(certificate(worker), Date.parse(validTo) + 1000)).toEqual([
      'cert',
      `expired on ${validTo}`,
    ]);
    expect(
      readClientCertificate(certificate(worker), Date.parse(validFrom) - 60_000),
    ).toHaveProperty('thumbprint', thumbprintOf(worker.cert));
  });

  it('accepts a certificate with any method, for bound tokens', () => {
    for (const clientAuthMethod of ['client_secret_basic', 'client_secret_post'] as const) {
      const auth = authorize({
        ...base,
        clientAuthMethod,
        clientSecret: 's',
        clientCertificate: certificate(worker),
      });
      expect(auth.clientCertificate?.thumbprint).toBe(thumbprintOf(worker.cert));
    }
  });
});
