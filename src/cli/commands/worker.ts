import { startTelemetry } from '@steadfast/telemetry-node';
import { collectDefaultMetrics } from 'prom-client';
import { metricsRegistry, metricsRouter } from 'steadfast';
import { startWorker, type Worker } from '../../apps/worker.js';
import { createWorkerClient } from '../../apps/worker-client.js';
import type { CliCommand } from '../command.js';
import { helpText, parseOptions } from '../options.js';
import { logLine, shutdownSignal } from '../signals.js';

const OPTIONS = {
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
    required: true,
    description: 'OAuth2 client secret (prefer the environment variable: flags show in `ps`)',
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

/** `steadfast worker`: call the API through the SDK until SIGTERM/SIGINT, then drain. */
export const workerCommand: CliCommand = {
  name: 'worker',
  summary: 'Run a worker that calls the API through the SDK and serves /metrics',
  async run(argv, env) {
    const parsed = parseOptions(OPTIONS, argv, env);
    if (parsed.help) {
      process.stdout.write(
        helpText(
          'steadfast worker [options]',
          'Calls the API through the Steadfast SDK at a fixed rate, sharing its OAuth2 token\n' +
            'through Redis. Serves GET /metrics, /healthz and /readyz. On SIGTERM it stops\n' +
            'starting calls, drains in-flight ones, releases its token lease, flushes spans.\n' +
            'Tracing follows the standard OTEL_* environment variables.',
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
    if (!options['redis-url']) {
      log('WARNING: no REDIS_URL: the token is not shared, each worker fetches its own');
    }
    const client = createWorkerClient({
      name: options.name,
      apiUrl: options['api-url'],
      tokenUrl: options['token-url'],
      clientId: options['client-id'],
      clientSecret: options['client-secret'],
      ...(options.scope ? { scope: options.scope } : {}),
      ...(options['redis-url'] ? { redisUrl: options['redis-url'] } : {}),
      ...(options['redis-key-prefix'] ? { redisKeyPrefix: options['redis-key-prefix'] } : {}),
      preset:
        options.pipeline === 'demo' || options.pipeline === 'demo+throttle'
          ? options.pipeline
          : 'standard',
      logError: log,
    });
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
