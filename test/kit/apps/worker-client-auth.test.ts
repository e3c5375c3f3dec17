/**
 * `steadfast worker` with every way an IdP authenticates a client, as real processes: a
 * `private_key_jwt` key file against the kit's IdP (src/apps/idp.ts) and the flaky API, the
 * mTLS files against an IdP and an API that ask for client certificates, DPoP with a
 * `private_key_jwt` client (a fleet of two sharing one DPoP token through Redis with
 * TOKEN_KEY), and the options refused with exit code 2, naming the option, never showing
 * key material. Keys and certificates are made at test time.
 */
import { spawn } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SteadfastClient } from 'steadfast';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText, sumOf } from '../../../src/apps/demo/prometheus-text.js';
import { type FlakyApi, startFlakyApi } from '../../../src/apps/flaky-api.js';
import { type Idp, startIdp } from '../../../src/apps/idp.js';
import { createWorkerClient } from '../../../src/apps/worker-client.js';
import { parseWorkerOptions, workerUsageError } from '../../../src/cli/commands/worker.js';
import { UsageError } from '../../../src/cli/options.js';
import { type CliProcess, startCli } from '../../helpers/cli-process.js';
import { startDpopIdp } from '../../helpers/dpop-idp.js';
import { startMtlsIdp } from '../../helpers/mtls-idp.js';
import { REPO_ROOT } from '../../helpers/prometheus.js';
import { killOnExit } from '../../helpers/reap.js';
import { startRedis } from '../../helpers/redis.js';
import { createTestCa, subjectDnOf, thumbprintOf } from '../../helpers/test-ca.js';

const CLI = join(REPO_ROOT, 'src/cli/main.ts');
const dir = mkdtempSync(join(tmpdir(), 'steadfast-worker-auth-'));
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Write a file of the test's temporary folder; its path. */
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

/** The base64 body lines of a PEM: what must never be shown. */
const pemLines = (pem: string) => pem.split('\n').filter((l) => l && !l.startsWith('-----'));

/** A P-256 key pair: the PEM private key, and the public JWK the IdP registers. */
function ecKeyPair(kid: string): { pem: string; jwk: object } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    pem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' },
  };
}

const BASE_ENV = { OTEL_TRACES_EXPORTER: 'none', METRICS_PORT: '0', WORKER_RATE: '20' };

/** `steadfast worker` until its ready line; stopped (SIGTERM) after the test. */
async function startWorker(env: Record<string, string>): Promise<CliProcess<string>> {
  const worker = await startCli('worker', {
    env: { ...BASE_ENV, ...env },
    ready: (line, stream) =>
      stream === 'stdout' ? /"metricsUrl":"([^"]+)"/.exec(line)?.[1] : undefined,
    readyTimeoutMs: 20_000,
  });
  cleanups.push(() => worker.stop('SIGKILL'));
  return worker;
}

/** Poll until `check` passes (up to ~15 s); fails with the last value and `context()`. */
async function eventually<T>(
  probe: () => Promise<T> | T,
  check: (value: T) => boolean,
  context: () => string = () => '',
): Promise<T> {
  let value: T | undefined;
  for (let poll = 0; poll < 300; poll += 1) {
    value = await probe();
    if (check(value)) return value;
    await sleep(50);
  }
  throw new Error(`condition never met; last value ${JSON.stringify(value)}\n${context()}`);
}

/** `steadfast worker` run to its exit (a refusal, `--help`): exit code and all it printed. */
async function runWorker(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'worker', ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...BASE_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

describe('steadfast worker with private_key_jwt', () => {
  const key = ecKeyPair('worker-key-1');
  const keyFile = file('client-key.pem', key.pem);
  let idp: Idp;
  let api: FlakyApi;

  beforeAll(async () => {
    idp = await startIdp({
      clients: [
        {
          clientId: 'key-worker',
          tokenEndpointAuthMethod: 'private_key_jwt',
          jwks: { keys: [key.jwk] },
          scopes: ['weather.read'],
        },
        { clientId: 'weather-api', clientSecret: 'api-secret', mayRevokeAnyToken: true },
      ],
    });
    api = await startFlakyApi({
      introspection: {
        url: idp.introspectionEndpoint,
        clientId: 'weather-api',
        clientSecret: 'api-secret',
      },
      adminToken: 'admin-token-for-worker-auth-tests',
      requiredScope: 'weather.read',
    });
  });
  afterAll(async () => {
    await api?.close();
    await idp?.close();
  });

  it('signs its assertions with the key file, gets a token and calls the API; exits 0 on SIGTERM', async () => {
    const worker = await startWorker({
      WORKER_API_URL: api.url,
      WORKER_TOKEN_URL: idp.tokenEndpoint,
      WORKER_CLIENT_ID: 'key-worker',
      WORKER_CLIENT_AUTH_METHOD: 'private_key_jwt',
      WORKER_CLIENT_KEY_FILE: keyFile,
      WORKER_KEY_ID: 'worker-key-1',
      WORKER_SCOPE: 'weather.read',
    });
    const samples = await eventually(
      async () => parsePrometheusText(await (await fetch(worker.ready)).text()),
      (s) => sumOf(s, 'steadfast_calls_total', { kind: 'successful_without_retry' }) >= 5,
      () => worker.output(),
    );
    expect(sumOf(samples, 'steadfast_token_fetches_total', { result: 'success' })).toBe(1);
    expect(idp.stats()).toMatchObject({ tokenRequests: 1, tokensIssued: 1, tokenErrors: 0 });
    expect(await worker.stop()).toEqual({ code: 0, signal: null });
    for (const line of pemLines(key.pem)) expect(worker.output()).not.toContain(line);
  }, 30_000);

  it('opens an encrypted key file with WORKER_KEY_PASSPHRASE, gets a token and a 200', async () => {
    const encrypted = createPrivateKey(key.pem).export({
      format: 'pem',
      type: 'pkcs8',
      cipher: 'aes-256-cbc',
      passphrase: 'worker-pass-phrase-1',
    }) as string;
    const parsed = parseWorkerOptions([], {
      WORKER_API_URL: api.url,
      WORKER_TOKEN_URL: idp.tokenEndpoint,
      WORKER_CLIENT_ID: 'key-worker',
      WORKER_CLIENT_AUTH_METHOD: 'private_key_jwt',
      WORKER_CLIENT_KEY_FILE: file('encrypted-client-key.pem', encrypted),
      WORKER_KEY_PASSPHRASE: 'worker-pass-phrase-1',
      WORKER_KEY_ID: 'worker-key-1',
      WORKER_SCOPE: 'weather.read',
    });
    if (parsed.help) throw new Error('help');
    const issued = idp.stats().tokensIssued;
    const client = createWorkerClient(parsed.client);
    cleanups.push(() => client.close());
    const res = await client.fetch('/weatherforecast', {});
    expect(res.status).toBe(200);
    await res.body?.cancel();
    expect(idp.stats().tokensIssued).toBe(issued + 1);
  });

  it('a key the IdP does not know gets no token (invalid_client): no call succeeds', async () => {
    const stranger = ecKeyPair('worker-key-1');
    const worker = await startWorker({
      WORKER_API_URL: api.url,
      WORKER_TOKEN_URL: idp.tokenEndpoint,
      WORKER_CLIENT_ID: 'key-worker',
      WORKER_CLIENT_AUTH_METHOD: 'private_key_jwt',
      WORKER_CLIENT_KEY_FILE: file('stranger-key.pem', stranger.pem),
      WORKER_SCOPE: 'weather.read',
    });
    const samples = await eventually(
      async () => parsePrometheusText(await (await fetch(worker.ready)).text()),
      (s) =>
        sumOf(s, 'steadfast_token_fetches_total', {
          result: 'failure',
          error_type: 'invalid_client',
        }) >= 1,
      () => worker.output(),
    );
    expect(sumOf(samples, 'steadfast_calls_total', { kind: 'successful_without_retry' })).toBe(0);
    expect(await worker.stop()).toEqual({ code: 0, signal: null });
    for (const line of pemLines(stranger.pem)) expect(worker.output()).not.toContain(line);
  }, 30_000);
});

describe('steadfast worker with a client certificate (tls_client_auth)', () => {
  it('reads the certificate, its encrypted key (WORKER_KEY_PASSPHRASE) and the CA from files, and calls an API that checks the binding', async () => {
    const ca = createTestCa('worker-cli-ca');
    const client = ca.issueClient({ cn: 'cli-worker', o: 'Steadfast Test' });
    const server = await startMtlsIdp({
      ca,
      clients: [
        { clientId: 'tls-worker', method: 'tls_client_auth', subjectDn: subjectDnOf(client.cert) },
      ],
    });
    cleanups.push(() => server.close());
    const worker = await startWorker({
      WORKER_API_URL: server.apiUrl,
      WORKER_PATH: '/data',
      WORKER_TOKEN_URL: server.tokenEndpoint,
      WORKER_CLIENT_ID: 'tls-worker',
      WORKER_CLIENT_AUTH_METHOD: 'tls_client_auth',
      WORKER_CLIENT_CERT_FILE: file('client.crt', client.cert),
      WORKER_CLIENT_CERT_KEY_FILE: file(
        'client.key',
        createPrivateKey(client.key).export({
          format: 'pem',
          type: 'pkcs8',
          cipher: 'aes-256-cbc',
          passphrase: 'cert-key-pass-phrase',
        }) as string,
      ),
      WORKER_KEY_PASSPHRASE: 'cert-key-pass-phrase',
      WORKER_CA_FILE: file('ca.crt', ca.cert),
      WORKER_SCOPE: 'data.read',
    });
    await eventually(
      () => server.apiRequests().filter((r) => r.status === 200).length,
      (ok) => ok >= 5,
      () => `${JSON.stringify(server.apiRequests().slice(-3))}\n${worker.output()}`,
    );
    expect(server.tokenRequests()).toBe(1);
    const thumbprint = thumbprintOf(client.cert);
    expect(server.tokenForms()[0]).toMatchObject({ certificate: thumbprint, verified: true });
    expect(server.apiRequests().every((r) => r.certificate === thumbprint)).toBe(true);
    expect(await worker.stop()).toEqual({ code: 0, signal: null });
    for (const line of pemLines(client.key)) expect(worker.output()).not.toContain(line);
    expect(worker.output()).not.toContain('cert-key-pass-phrase');
  }, 30_000);
});

describe('steadfast worker with DPoP', () => {
  it('two workers with private_key_jwt and --dpop share one DPoP token through Redis with TOKEN_KEY', async () => {
    const key = ecKeyPair('fapi-key');
    const dpop = await startDpopIdp({ clientJwks: { keys: [key.jwk] } });
    cleanups.push(() => dpop.close());
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const env = {
      WORKER_API_URL: dpop.apiUrl,
      WORKER_PATH: '/data',
      WORKER_TOKEN_URL: dpop.tokenEndpoint,
      WORKER_CLIENT_ID: dpop.clientId,
      WORKER_CLIENT_AUTH_METHOD: 'private_key_jwt',
      WORKER_CLIENT_KEY_FILE: file('fapi-key.pem', key.pem),
      WORKER_DPOP: 'true',
      WORKER_SCOPE: 'data.read',
      REDIS_URL: redis.url,
      TOKEN_KEY: Buffer.alloc(32, 7).toString('base64'),
    };
    const workers = await Promise.all([startWorker(env), startWorker(env)]);
    await eventually(
      () => dpop.apiRequests().filter((r) => r.status === 200).length,
      (ok) => ok >= 10,
      () =>
        `${JSON.stringify(dpop.apiRequests().slice(-3))}\n${workers.map((w) => w.output()).join('\n')}`,
    );
    // One token for the two (the IdP asks for a nonce first: two requests, one token)...
    expect(dpop.tokensIssued()).toBe(1);
    expect(dpop.tokenRequests().every((r) => r.proof !== undefined)).toBe(true);
    // ...bound to one key, which both workers sign their proofs with.
    const keys = new Set(
      dpop
        .apiRequests()
        .filter((r) => r.status === 200)
        .map((r) => r.jkt),
    );
    expect(keys.size).toBe(1);
    for (const worker of workers) {
      expect(await worker.stop()).toEqual({ code: 0, signal: null });
      for (const line of pemLines(key.pem)) expect(worker.output()).not.toContain(line);
    }
  }, 30_000);
});

describe('steadfast worker refuses client authentication options', () => {
  const key = ecKeyPair('some-key');
  const keyFile = file('refused-key.pem', key.pem);
  const weakRsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString();
  const weakRsaFile = file('weak-rsa.pem', weakRsa);
  const notPem = file('not-pem.txt', 'this is not PEM\n');
  const certificate = createTestCa('worker-refusals-ca').issueClient({ cn: 'refused' });
  const certFile = file('refused.crt', certificate.cert);
  const certKeyFile = file('refused.key', certificate.key);
  const encrypt = (pem: string) =>
    createPrivateKey(pem).export({
      format: 'pem',
      type: 'pkcs8',
      cipher: 'aes-256-cbc',
      passphrase: 'right-pass-phrase-135',
    }) as string;
  const encryptedKeyFile = file('refused-encrypted-key.pem', encrypt(key.pem));
  const encryptedCertKeyFile = file('refused-encrypted-cert.key', encrypt(certificate.key));
  const target = {
    WORKER_API_URL: 'http://127.0.0.1:1',
    WORKER_TOKEN_URL: 'http://127.0.0.1:1/token',
    WORKER_CLIENT_ID: 'worker',
  };

  /**
   * What `steadfast worker` does with its options before it starts, in this process: parse,
   * read the files, make the client; the usage error it would print (exit code 2).
   */
  function refusal(env: Record<string, string>, args: readonly string[] = []): string {
    let client: SteadfastClient | undefined;
    try {
      const parsed = parseWorkerOptions(args, { ...target, ...env });
      if (parsed.help) throw new Error('help');
      client = createWorkerClient(parsed.client);
    } catch (error) {
      const usage = workerUsageError(error);
      expect(usage).toBeInstanceOf(UsageError);
      return (usage as UsageError).message;
    }
    void client.close();
    throw new Error(`accepted: ${JSON.stringify(env)} ${args.join(' ')}`);
  }

  it('as a process: exit code 2, one line naming the flag and its variable, no key material', async () => {
    const cases = [
      {
        env: {
          WORKER_CLIENT_AUTH_METHOD: 'private_key_jwt',
          WORKER_CLIENT_KEY_FILE: join(dir, 'absent.pem'),
        },
        says: '--client-key-file/WORKER_CLIENT_KEY_FILE: cannot read the file: ENOENT',
      },
      {
        // A folder cannot be read as a file (root reads a chmod 000 file).
        args: ['--client-auth-method', 'private_key_jwt', '--client-key-file', dir],
        says: '--client-key-file/WORKER_CLIENT_KEY_FILE: cannot read the file: EISDIR',
      },
      {
        env: { WORKER_CLIENT_AUTH_METHOD: 'client_secret_post', WORKER_CLIENT_KEY_FILE: keyFile },
        says: '--client-secret/WORKER_CLIENT_SECRET: Invalid option `clientSecret`: is required with clientAuthMethod "client_secret_post"',
      },
    ];
    const [help, ...runs] = await Promise.all([
      runWorker(['--help'], {}),
      ...cases.map((c) => runWorker(c.args ?? [], { ...target, ...c.env })),
    ]);
    for (const [index, { code, output }] of runs.entries()) {
      const context = `case ${index}: ${output}`;
      expect(code, context).toBe(2);
      const lines = output.trimEnd().split('\n');
      expect(lines, context).toHaveLength(2);
      expect(lines[0], context).toContain(`steadfast worker: ${cases[index]!.says}`);
      expect(lines[1], context).toBe('Run `steadfast worker --help`.');
      for (const line of pemLines(key.pem)) expect(output, context).not.toContain(line);
    }
    expect(help!.code).toBe(0);
    for (const text of [
      'WORKER_CLIENT_AUTH_METHOD',
      'self_signed_tls_client_auth',
      'WORKER_CLIENT_KEY_FILE',
      'WORKER_KEY_ID',
      'WORKER_CLIENT_CERT_FILE',
      'WORKER_CLIENT_CERT_KEY_FILE',
      'WORKER_CA_FILE',
      'WORKER_KEY_PASSPHRASE',
      'WORKER_DPOP',
      'TOKEN_KEY',
    ]) {
      expect(help!.output).toContain(text);
    }
    expect(help!.output).not.toMatch(/--client-secret.*required/);
  }, 30_000);

  it.each<{ what: string; env: Record<string, string>; says: string }>([
    {
      what: 'the default method without a secret',
      env: {},
      says: '--client-secret/WORKER_CLIENT_SECRET: Invalid option `clientSecret`: is required with clientAuthMethod "client_secret_basic"',
    },
    {
      what: 'client_secret_jwt without a secret',
      env: { WORKER_CLIENT_AUTH_METHOD: 'client_secret_jwt' },
      says: '--client-secret/WORKER_CLIENT_SECRET: Invalid option `clientSecret`: is required with clientAuthMethod "client_secret_jwt"',
    },
    {
      what: 'private_key_jwt without a key',
      env: { WORKER_CLIENT_AUTH_METHOD: 'private_key_jwt' },
      says: '--client-key-file/WORKER_CLIENT_KEY_FILE: Invalid option `privateKey`: is required with clientAuthMethod "private_key_jwt"',
    },
    {
      what: 'private_key_jwt with a secret left over',
      env: {
        WORKER_CLIENT_AUTH_METHOD: 'private_key_jwt',
        WORKER_CLIENT_KEY_FILE: keyFile,
        WORKER_CLIENT_SECRET: 'left-over-secret-123',
      },
      says: '--client-secret/WORKER_CLIENT_SECRET: Invalid option `clientSecret`: is not used with clientAuthMethod "private_key_jwt"',
    },
    {
      what: 'a key file with a secret method',
      env: { WORKER_CLIENT_SECRET: 'a-secret-456', WORKER_CLIENT_KEY_FILE: keyFile },
      says: '--client-key-file/WORKER_CLIENT_KEY_FILE: Invalid option `privateKey`: is only used with clientAuthMethod "private_key_jwt"',
    },
    {
      what: 'a key id with a secret method',
      env: { WORKER_CLIENT_SECRET: 'a-secret-456', WORKER_KEY_ID: 'k1' },
      says: '--key-id/WORKER_KEY_ID: Invalid option `keyId`: is only used with private_key_jwt',
    },
    {
      what: 'an RSA key of 1024 bits',
      env: { WORKER_CLIENT_AUTH_METHOD: 'private_key_jwt', WORKER_CLIENT_KEY_FILE: weakRsaFile },
      says: '--client-key-file/WORKER_CLIENT_KEY_FILE: Invalid option `privateKey`:',
    },
    {
      what: 'a file that is not a key',
      env: { WORKER_CLIENT_AUTH_METHOD: 'private_key_jwt', WORKER_CLIENT_KEY_FILE: notPem },
      says: '--client-key-file/WORKER_CLIENT_KEY_FILE: Invalid option `privateKey`:',
    },
    {
      what: 'tls_client_auth without a certificate',
      env: { WORKER_CLIENT_AUTH_METHOD: 'tls_client_auth' },
      says: '--client-cert-file/WORKER_CLIENT_CERT_FILE: Invalid option `clientCertificate`: is required with clientAuthMethod "tls_client_auth"',
    },
    {
      what: 'self_signed_tls_client_auth with a secret',
      env: {
        WORKER_CLIENT_AUTH_METHOD: 'self_signed_tls_client_auth',
        WORKER_CLIENT_SECRET: 'a-secret-456',
        WORKER_CLIENT_CERT_FILE: certFile,
        WORKER_CLIENT_CERT_KEY_FILE: certKeyFile,
      },
      says: '--client-secret/WORKER_CLIENT_SECRET: Invalid option `clientSecret`: is not used with clientAuthMethod "self_signed_tls_client_auth"',
    },
    {
      what: 'a certificate without its key',
      env: { WORKER_CLIENT_AUTH_METHOD: 'tls_client_auth', WORKER_CLIENT_CERT_FILE: certFile },
      says: '--client-cert-key-file/WORKER_CLIENT_CERT_KEY_FILE is required with --client-cert-file/WORKER_CLIENT_CERT_FILE',
    },
    {
      what: 'a certificate key without the certificate',
      env: { WORKER_CLIENT_SECRET: 's', WORKER_CLIENT_CERT_KEY_FILE: certKeyFile },
      says: '--client-cert-key-file/WORKER_CLIENT_CERT_KEY_FILE is only used with --client-cert-file/WORKER_CLIENT_CERT_FILE',
    },
    {
      what: 'the key where the certificate should be',
      env: {
        WORKER_CLIENT_AUTH_METHOD: 'tls_client_auth',
        WORKER_CLIENT_CERT_FILE: certKeyFile,
        WORKER_CLIENT_CERT_KEY_FILE: certKeyFile,
      },
      says: '--client-cert-file/WORKER_CLIENT_CERT_FILE: Invalid option `clientCertificate.cert`:',
    },
    {
      what: 'a certificate with the key of another',
      env: {
        WORKER_CLIENT_AUTH_METHOD: 'tls_client_auth',
        WORKER_CLIENT_CERT_FILE: certFile,
        WORKER_CLIENT_CERT_KEY_FILE: keyFile,
      },
      says: '--client-cert-key-file/WORKER_CLIENT_CERT_KEY_FILE: Invalid option `clientCertificate.key`:',
    },
    {
      what: 'a CA file that is not a certificate',
      env: {
        WORKER_CLIENT_AUTH_METHOD: 'tls_client_auth',
        WORKER_CLIENT_CERT_FILE: certFile,
        WORKER_CLIENT_CERT_KEY_FILE: certKeyFile,
        WORKER_CA_FILE: notPem,
      },
      says: '--ca-file/WORKER_CA_FILE: Invalid option `clientCertificate.ca',
    },
    {
      what: 'a CA file without a client certificate',
      env: { WORKER_CLIENT_SECRET: 's', WORKER_CA_FILE: certFile },
      says: '--ca-file/WORKER_CA_FILE is only used with --client-cert-file/WORKER_CLIENT_CERT_FILE',
    },
    {
      what: 'an encrypted key file without its passphrase',
      env: {
        WORKER_CLIENT_AUTH_METHOD: 'private_key_jwt',
        WORKER_CLIENT_KEY_FILE: encryptedKeyFile,
      },
      says: '--client-key-file/WORKER_CLIENT_KEY_FILE is an encrypted PEM key: give its passphrase in --key-passphrase/WORKER_KEY_PASSPHRASE',
    },
    {
      what: 'an encrypted key file with a wrong passphrase',
      env: {
        WORKER_CLIENT_AUTH_METHOD: 'private_key_jwt',
        WORKER_CLIENT_KEY_FILE: encryptedKeyFile,
        WORKER_KEY_PASSPHRASE: 'wrong-pass-phrase-246',
      },
      says: '--key-passphrase/WORKER_KEY_PASSPHRASE: cannot decrypt --client-key-file/WORKER_CLIENT_KEY_FILE with it',
    },
    {
      what: 'an encrypted certificate key without its passphrase',
      env: {
        WORKER_CLIENT_AUTH_METHOD: 'tls_client_auth',
        WORKER_CLIENT_CERT_FILE: certFile,
        WORKER_CLIENT_CERT_KEY_FILE: encryptedCertKeyFile,
      },
      says: '--client-cert-key-file/WORKER_CLIENT_CERT_KEY_FILE is an encrypted PEM key: give its passphrase in --key-passphrase/WORKER_KEY_PASSPHRASE',
    },
    {
      what: 'an encrypted certificate key with a wrong passphrase',
      env: {
        WORKER_CLIENT_AUTH_METHOD: 'tls_client_auth',
        WORKER_CLIENT_CERT_FILE: certFile,
        WORKER_CLIENT_CERT_KEY_FILE: encryptedCertKeyFile,
        WORKER_KEY_PASSPHRASE: 'wrong-pass-phrase-246',
      },
      says: '--client-cert-key-file/WORKER_CLIENT_CERT_KEY_FILE: Invalid option `clientCertificate.key`: could not be decrypted with `passphrase` (a wrong passphrase?)',
    },
    {
      what: 'a passphrase without a key file',
      env: { WORKER_CLIENT_SECRET: 's', WORKER_KEY_PASSPHRASE: 'wrong-pass-phrase-246' },
      says: '--key-passphrase/WORKER_KEY_PASSPHRASE is only used with --client-key-file/WORKER_CLIENT_KEY_FILE or --client-cert-key-file/WORKER_CLIENT_CERT_KEY_FILE',
    },
    {
      what: 'an encryption key without Redis',
      env: { WORKER_CLIENT_SECRET: 's', TOKEN_KEY: Buffer.alloc(32).toString('base64') },
      says: '--redis-encryption-key/TOKEN_KEY is only used with --redis-url/REDIS_URL',
    },
    {
      what: 'an encryption key that is not 32 bytes',
      env: {
        WORKER_CLIENT_SECRET: 's',
        REDIS_URL: 'redis://127.0.0.1:1',
        TOKEN_KEY: 'not-32-bytes-of-key-material',
      },
      says: '--redis-encryption-key/TOKEN_KEY: Invalid option `encryptionKey`:',
    },
  ])('refuses $what, naming the flag and never the key', ({ env, says }) => {
    const message = refusal(env);
    expect(message.startsWith(says), message).toBe(true);
    expect(message).not.toContain('\n');
    for (const secret of [
      'left-over-secret-123',
      'a-secret-456',
      'not-32-bytes-of-key-material',
      'wrong-pass-phrase-246',
      'right-pass-phrase-135',
    ]) {
      expect(message).not.toContain(secret);
    }
    for (const pem of [key.pem, weakRsa, certificate.key]) {
      for (const line of pemLines(pem)) expect(message).not.toContain(line);
    }
  });
});
