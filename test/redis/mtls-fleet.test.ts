/**
 * Certificate-bound tokens (RFC 8705) shared through a private redis-server: four instances
 * (four authorizations, each with its own store connection and its own TLS agent) holding
 * the same client certificate make one token request for the fleet, and each presents the
 * certificate on its own connections to the API, so the one bound token works everywhere.
 * An instance with another certificate is another credential (the thumbprint is in the
 * store key): it fetches its own token instead of borrowing one it could not use.
 * oidc-provider over HTTPS with features.mTLS and an introspecting resource server that
 * compares `cnf.x5t#S256` with the connection's certificate (test/helpers/mtls-idp.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisTokenStore } from '../../packages/redis/src/redis-token-store.js';
import { clientCredentials } from '../../packages/steadfast/src/auth/index.js';
import { createClient } from '../../packages/steadfast/src/client.js';
import { type MtlsIdp, startMtlsIdp } from '../helpers/mtls-idp.js';
import { usePrivateRedis } from '../helpers/redis.js';
import { type CertificateAndKey, createTestCa, subjectDnOf } from '../helpers/test-ca.js';

const INSTANCES = 4;
const CALLS = 10;
const ca = createTestCa('steadfast-fleet-ca');
const worker = ca.issueClient({ cn: 'mtls-fleet-worker', o: 'Steadfast Test' });
const rotated = ca.issueClient({ cn: 'mtls-fleet-worker', o: 'Steadfast Test' });
const redis = usePrivateRedis();
let idp: MtlsIdp;
beforeAll(async () => {
  idp = await startMtlsIdp({
    ca,
    clients: [
      { clientId: 'fleet-mtls', method: 'tls_client_auth', subjectDn: subjectDnOf(worker.cert) },
    ],
  });
});
afterAll(async () => {
  await idp?.close();
});

function instance(certificate: CertificateAndKey) {
  const auth = clientCredentials({
    tokenUrl: idp.tokenEndpoint,
    clientId: 'fleet-mtls',
    clientAuthMethod: 'tls_client_auth',
    clientCertificate: { cert: certificate.cert, key: certificate.key, ca: ca.cert },
    scope: 'data.read',
    store: redisTokenStore({ url: redis.url, keyPrefix: 'mtls-fleet:' }),
  });
  return createClient({ name: 'mtls-fleet', baseUrl: idp.apiUrl, auth, retry: false });
}

async function status(call: Promise<Response>): Promise<number> {
  const response = await call;
  await response.arrayBuffer();
  return response.status;
}

describe('certificate-bound tokens across instances through Redis', () => {
  it('4 instances with one certificate: one token request, every call accepted; another certificate fetches its own', async () => {
    const fleet = Array.from({ length: INSTANCES }, () => instance(worker));
    try {
      const calls = fleet.flatMap((client) =>
        Array.from({ length: CALLS }, () => status(client.fetch('/data'))),
      );
      expect(await Promise.all(calls)).toEqual(Array(INSTANCES * CALLS).fill(200));
      expect(idp.tokenRequests()).toBe(1);

      // A renewed certificate (same subject, new key): its own token, not the one bound to
      // the old certificate, which the API would refuse on its connections.
      const renewed = instance(rotated);
      try {
        expect(await status(renewed.fetch('/data'))).toBe(200);
        expect(idp.tokenRequests()).toBe(2);
      } finally {
        await renewed.close();
      }
      const refused = idp.apiRequests().filter((r) => r.status !== 200);
      expect(refused).toEqual([]);
    } finally {
      for (const client of fleet) await client.close();
    }
  });
});
