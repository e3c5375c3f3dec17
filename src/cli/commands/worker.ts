import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startTelemetry } from '@steadfast/telemetry-node';
import { collectDefaultMetrics } from 'prom-client';
import {
  type ClientAuthMethod,
  type ClientCertificate,
  InvalidConfigurationError,
  metricsRegistry,
  metricsRouter,
  type SteadfastClient,
} from 'steadfast';
import { startWorker, type Worker } from '../../apps/worker.js';
import { createWorkerClient, type WorkerClientOptions } from '../../apps/worker-client.js';
import type { CliCommand } from '../command.js';
import { helpText, type OptionValues, parseOptions, UsageError } from '../options.js';
import { logLine, shutdownSignal } from '../signals.js';

const CLIENT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
] as const satisfies readonly ClientAuthMethod[];

export const OPTIONS = {
  'api-url': {
    kind: 'string',
    env: 'WORKER_API_URL',
    required: true,
    description: 'Base URL of the API',
  },
  path: {
    kind: 'string',
    env: 'WORKER_PATH',
    default: '/weatherforecast',
    description: 'Path to call',
  },
  'token-url': {
    kind: 'string',
    env: 'WORKER_TOKEN_URL',
    required: true,
    description: "The IdP's token endpoint",
  },
  'client-id': {
    kind: 'string',
    env: 'WORKER_CLIENT_ID',
    required: true,
    description: 'OAuth2 client id',
  },
  'client-secret': {
    kind: 'secret',
    env: 'WORKER_CLIENT_SECRET',
    description:
      'OAuth2 client secret of the client_secret_* methods (prefer the environment variable: flags show in `ps`)',
  },
  'client-auth-method': {
    kind: 'string',
    env: 'WORKER_CLIENT_AUTH_METHOD',
    default: 'client_secret_basic',
    choices: CLIENT_AUTH_METHODS,
    description: 'How the client authenticates at the token endpoint (see above)',
  },
  'client-key-file': {
    kind: 'string',
    env: 'WORKER_CLIENT_KEY_FILE',
    description:
      'PEM private key of private_key_jwt (RSA ≥ 2048 bits, EC P-256 or Ed25519; encrypted: with --key-passphrase)',
  },
  'key-id': {
    kind: 'string',
    env: 'WORKER_KEY_ID',
    description: 'The `kid` of the private_key_jwt assertion',
  },
  'client-cert-file': {
    kind: 'string',
    env: 'WORKER_CLIENT_CERT_FILE',
    description:
      'PEM TLS client certificate: the client authentication of the mTLS methods; with another method, tokens are bound to it',
  },
  'client-cert-key-file': {
    kind: 'string',
    env: 'WORKER_CLIENT_CERT_KEY_FILE',
    description: 'PEM private key of --client-cert-file (encrypted: with --key-passphrase)',
  },
  'key-passphrase': {
    kind: 'secret',
    env: 'WORKER_KEY_PASSPHRASE',
    description:
      'Passphrase of an encrypted --client-key-file or --client-cert-key-file (prefer the environment variable: flags show in `ps`)',
  },
  'ca-file': {
    kind: 'string',
    env: 'WORKER_CA_FILE',
    description:
      "PEM CA certificate(s) trusted for the IdP's and the API's servers besides the defaults (with --client-cert-file)",
  },
  dpop: {
    kind: 'boolean',
    env: 'WORKER_DPOP',
    default: false,
    description:
      'DPoP-bound tokens (RFC 9449), a proof on every request; through Redis, one token for the fleet only with --redis-encryption-key',
  },
  scope: { kind: 'string', env: 'WORKER_SCOPE', description: 'Space-separated scopes to request' },
  'redis-url': {
    kind: 'secret',
    env: 'REDIS_URL',
    description: 'Share the token through this Redis (default: in-process only, with a warning)',
  },
  'redis-key-prefix': {
    kind: 'string',
    env: 'WORKER_REDIS_KEY_PREFIX',
    description: 'Key prefix in Redis',
  },
  'redis-encryption-key': {
    kind: 'secret',
    env: 'TOKEN_KEY',
    description:
      'Encrypt token records in Redis (AES-256-GCM): 32 bytes as 64 hex digits or base64 (`openssl rand -base64 32`), the same on every worker',
  },
  rate: {
    kind: 'number',
    env: 'WORKER_RATE',
    default: 10,
    min: 0.1,
    max: 10_000,
    description: 'Calls started per second',
  },
  concurrency: {
    kind: 'integer',
    env: 'WORKER_CONCURRENCY',
    default: 20,
    min: 1,
    max: 10_000,
    description: 'Calls in flight at most',
  },
  name: {
    kind: 'string',
    env: 'WORKER_CLIENT_NAME',
    default: 'weather',
    description: 'The `client` metric label',
  },
  pipeline: {
    kind: 'string',
    env: 'WORKER_PIPELINE',
    default: 'standard',
    choices: ['standard', 'demo', 'demo+throttle'],
    description:
      'SDK defaults, or for demos short timeouts, a quick breaker, a fleet quota, pauses on 429, hedging, serve stale and an adaptive limit; demo+throttle: the same with adaptive throttling instead of the breaker',
  },
  host: {
    kind: 'string',
    env: 'METRICS_HOST',
    default: '127.0.0.1',
    description: 'Interface of the /metrics and /healthz server (0.0.0.0 in containers)',
  },
  port: {
    kind: 'integer',
    env: 'METRICS_PORT',
    default: 9464,
    min: 0,
    max: 65_535,
    description: 'Port of the /metrics and /healthz server (0 = any free port)',
  },
  'drain-timeout-ms': {
    kind: 'integer',
    env: 'WORKER_DRAIN_TIMEOUT_MS',
    default: 10_000,
    min: 0,
    max: 600_000,
    description: 'How long SIGTERM waits for in-flight calls',
  },
  'summary-interval-ms': {
    kind: 'integer',
    env: 'WORKER_SUMMARY_INTERVAL_MS',
    default: 10_000,
    min: 0,
    max: 3_600_000,
    description: 'Period of the summary log line (0 = none)',
  },
} as const;

type WorkerFlag = keyof typeof OPTIONS;

/** How errors name an option: `--flag/ENV_VAR`. */
function flagName(flag: WorkerFlag): string {
  const { env } = OPTIONS[flag] as { readonly env?: string };
  return env ? `--${flag}/${env}` : `--${flag}`;
}

/** Read a file an option names, once, at start. The error names the option, never the content. */
function readOptionFile(flag: WorkerFlag, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`${flagName(flag)}: cannot read the file: ${(error as Error).message}`);
  }
}

/** Whether a PEM text is an encrypted private key (PKCS#8 or the older OpenSSL form). */
function isEncryptedPem(pem: string): boolean {
  return /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: *4, *ENCRYPTED/.test(pem);
}

/**
 * The private_key_jwt key from its file: the PEM text for the SDK to check, or, when it is
 * encrypted and a passphrase is given, the key decrypted here (the SDK takes an encrypted key
 * only as a KeyObject). Errors name the options, never the key or the passphrase.
 */
function signingKey(path: string, passphrase: string | undefined): string | KeyObject {
  const pem = readOptionFile('client-key-file', path);
  if (!isEncryptedPem(pem)) return pem;
  if (passphrase === undefined) {
    throw new UsageError(
      `${flagName('client-key-file')} is an encrypted PEM key: give its passphrase in ${flagName('key-passphrase')}`,
    );
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch {
    // node's message may quote the key: ours names the options only
    throw new UsageError(
      `${flagName('key-passphrase')}: cannot decrypt ${flagName('client-key-file')} with it (a wrong passphrase?)`,
    );
  }
}

/** The option of the CLI behind each field an `InvalidConfigurationError` of the SDK names. */
const SDK_FIELDS: Readonly<Record<string, WorkerFlag>> = {
  tokenUrl: 'token-url',
  clientId: 'client-id',
  credential: 'client-id',
  clientSecret: 'client-secret',
  clientAuthMethod: 'client-auth-method',
  privateKey: 'client-key-file',
  signingAlgorithm: 'client-key-file',
  keyId: 'key-id',
  clientCertificate: 'client-cert-file',
  'clientCertificate.cert': 'client-cert-file',
  'clientCertificate.key': 'client-cert-key-file',
  'clientCertificate.ca': 'ca-file',
  'clientCertificate.passphrase': 'key-passphrase',
  dpop: 'dpop',
  scope: 'scope',
  url: 'redis-url',
  keyPrefix: 'redis-key-prefix',
  encryptionKey: 'redis-encryption-key',
  baseUrl: 'api-url',
  name: 'name',
};

/**
 * A configuration the SDK refused at construction (`InvalidConfigurationError`) as a usage
 * error (exit code 2) naming the option of the CLI as well as the SDK's; any other error as
 * it is. The SDK's messages never quote a key or a secret.
 */
export function workerUsageError(error: unknown): unknown {
  if (!isInvalidConfiguration(error)) return error;
  const field = error.field;
  const flag =
    SDK_FIELDS[field] ??
    SDK_FIELDS[field.replace(/\[\d+\]$/, '')] ??
    SDK_FIELDS[field.split(/[.[]/)[0] ?? ''];
  return new UsageError(flag ? `${flagName(flag)}: ${error.message}` : error.message);
}

function isInvalidConfiguration(error: unknown): error is Error & { readonly field: string } {
  return (
    error instanceof InvalidConfigurationError ||
    (error instanceof Error &&
      (error as { code?: unknown }).code === 'ERR_STEADFAST_INVALID_CONFIGURATION' &&
      typeof (error as { field?: unknown }).field === 'string')
  );
}

/**
 * The client authentication options: the combinations the SDK cannot see checked here (files
 * that go in pairs), the files read once. What each method needs is the SDK's to check.
 */
function authOptions(
  options: OptionValues<typeof OPTIONS>,
): Omit<WorkerClientOptions, 'apiUrl' | 'tokenUrl' | 'clientId'> {
  const certFile = options['client-cert-file'];
  const certKeyFile = options['client-cert-key-file'];
  if (certFile === undefined && certKeyFile !== undefined) {
    throw new UsageError(
      `${flagName('client-cert-key-file')} is only used with ${flagName('client-cert-file')}: give the certificate too`,
    );
  }
  if (certFile !== undefined && certKeyFile === undefined) {
    throw new UsageError(
      `${flagName('client-cert-key-file')} is required with ${flagName('client-cert-file')}: the certificate's private key`,
    );
  }
  if (options['ca-file'] !== undefined && certFile === undefined) {
    throw new UsageError(
      `${flagName('ca-file')} is only used with ${flagName('client-cert-file')} (without a client certificate, trust a private CA with NODE_EXTRA_CA_CERTS)`,
    );
  }
  if (options['redis-encryption-key'] !== undefined && options['redis-url'] === undefined) {
    throw new UsageError(
      `${flagName('redis-encryption-key')} is only used with ${flagName('redis-url')}`,
    );
  }
  const keyFile = options['client-key-file'];
  const passphrase = options['key-passphrase'];
  if (passphrase !== undefined && keyFile === undefined && certKeyFile === undefined) {
    throw new UsageError(
      `${flagName('key-passphrase')} is only used with ${flagName('client-key-file')} or ${flagName('client-cert-key-file')}`,
    );
  }
  let clientCertificate: ClientCertificate | undefined;
  if (certFile !== undefined && certKeyFile !== undefined) {
    const caFile = options['ca-file'];
    const key = readOptionFile('client-cert-key-file', certKeyFile);
    if (isEncryptedPem(key) && passphrase === undefined) {
      throw new UsageError(
        `${flagName('client-cert-key-file')} is an encrypted PEM key: give its passphrase in ${flagName('key-passphrase')}`,
      );
    }
    clientCertificate = {
      cert: readOptionFile('client-cert-file', certFile),
      key,
      ...(passphrase !== undefined && isEncryptedPem(key) ? { passphrase } : {}),
      ...(caFile !== undefined ? { ca: readOptionFile('ca-file', caFile) } : {}),
    };
  }
  return {
    clientAuthMethod: options['client-auth-method'] as ClientAuthMethod,
    ...(options['client-secret'] !== undefined ? { clientSecret: options['client-secret'] } : {}),
    ...(keyFile !== undefined ? { privateKey: signingKey(keyFile, passphrase) } : {}),
    ...(options['key-id'] !== undefined ? { keyId: options['key-id'] } : {}),
    ...(clientCertificate ? { clientCertificate } : {}),
    dpop: options.dpop,
    ...(options['redis-encryption-key'] !== undefined
      ? { redisEncryptionKey: options['redis-encryption-key'] }
      : {}),
  };
}

/**
 * The worker's options from its command line and environment, and the options of its client
 * with the files read; a mistake throws {@link UsageError}. What the SDK checks when the
 * client is made, {@link workerUsageError} turns into a usage error too.
 */
export function parseWorkerOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
):
  | { readonly help: true }
  | {
      readonly help: false;
      readonly values: OptionValues<typeof OPTIONS>;
      readonly client: WorkerClientOptions;
    } {
  const parsed = parseOptions(OPTIONS, argv, env);
  if (parsed.help) return parsed;
  const options = parsed.values;
  return {
    help: false,
    values: options,
    client: {
      name: options.name,
      apiUrl: options['api-url'],
      tokenUrl: options['token-url'],
      clientId: options['client-id'],
      ...authOptions(options),
      ...(options.scope ? { scope: options.scope } : {}),
      ...(options['redis-url'] ? { redisUrl: options['redis-url'] } : {}),
      ...(options['redis-key-prefix'] ? { redisKeyPrefix: options['redis-key-prefix'] } : {}),
      preset:
        options.pipeline === 'demo' || options.pipeline === 'demo+throttle'
          ? options.pipeline
          : 'standard',
    },
  };
}

/** `steadfast worker`: call the API through the SDK until SIGTERM/SIGINT, then drain. */
export const workerCommand: CliCommand = {
  name: 'worker',
  summary: 'Run a worker that calls the API through the SDK and serves /metrics',
  async run(argv, env) {
    const parsed = parseWorkerOptions(argv, env);
    if (parsed.help) {
      process.stdout.write(
        helpText(
          'steadfast worker [options]',
          'Calls the API through the Steadfast SDK at a fixed rate, sharing its OAuth2 token\n' +
            'through Redis. Serves GET /metrics, /healthz and /readyz. On SIGTERM it stops\n' +
            'starting calls, drains in-flight ones, releases its token lease, flushes spans.\n' +
            'Tracing follows the standard OTEL_* environment variables.\n' +
            '\n' +
            'Client authentication (--client-auth-method):\n' +
            '  client_secret_basic, client_secret_post, client_secret_jwt   --client-secret\n' +
            '  private_key_jwt               --client-key-file [--key-id]\n' +
            '  tls_client_auth, self_signed_tls_client_auth\n' +
            '                                --client-cert-file --client-cert-key-file [--ca-file]\n' +
            'A client certificate with another method binds the tokens to it (RFC 8705);\n' +
            '--dpop binds them to a key (RFC 9449). Files are read once, at start; an\n' +
            'encrypted key file opens with --key-passphrase.',
          OPTIONS,
        ),
      );
      return 0;
    }
    const options = parsed.values;
    const log = logLine(`worker[${process.pid}]`);
    // Before the client exists, so its spans have a provider. Signals are ours to handle:
    // spans are flushed after the drain, not before it.
    const shutdownTelemetry = await startTelemetry({
      serviceName: 'steadfast-worker',
      handleSignals: false,
    });
    let client: SteadfastClient;
    try {
      client = createWorkerClient({ ...parsed.client, logError: log });
    } catch (error) {
      await shutdownTelemetry();
      throw workerUsageError(error);
    }
    if (!options['redis-url']) {
      log('WARNING: no REDIS_URL: the token is not shared, each worker fetches its own');
    } else if (options.dpop && !options['redis-encryption-key']) {
      log(
        'WARNING: DPoP without TOKEN_KEY: the key cannot go through Redis, each worker binds its own token',
      );
    }
    let worker: Worker;
    try {
      // The process families (event-loop lag, memory) feed the dashboard's Workers row.
      collectDefaultMetrics({ register: metricsRegistry });
      worker = await startWorker({
        client,
        path: options.path,
        ratePerSecond: options.rate,
        concurrency: options.concurrency,
        host: options.host,
        port: options.port,
        metrics: metricsRouter(),
        drainTimeoutMs: options['drain-timeout-ms'],
        onShutdown: shutdownTelemetry,
        summaryIntervalMs: options['summary-interval-ms'],
        log,
      });
    } catch (error) {
      // The server could not start (port taken, ...): release the client's connections.
      await client.close();
      await shutdownTelemetry();
      throw error;
    }
    // One machine-readable line, so a parent (the demo) learns the metrics URL.
    process.stdout.write(
      `${JSON.stringify({ event: 'ready', metricsUrl: `${worker.url}/metrics` })}\n`,
    );
    const signal = await shutdownSignal();
    log(`${signal}: shutting down`);
    const report = await worker.stop();
    return report.drained ? 0 : 1;
  },
};
