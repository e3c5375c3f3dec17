import { MIN_ADMIN_TOKEN_LENGTH } from '../../apps/bearer-token.js';
import {
  type FaultProfile,
  faultProfile,
  InvalidFaultProfileError,
} from '../../apps/fault-profile.js';
import { startFlakyApi } from '../../apps/flaky-api.js';
import type { CliCommand } from '../command.js';
import { helpText, parseOptions, UsageError } from '../options.js';
import { logLine, shutdownSignal } from '../signals.js';

export const OPTIONS = {
  host: {
    kind: 'string',
    env: 'FLAKY_API_HOST',
    default: '127.0.0.1',
    description: 'Interface to listen on',
  },
  port: {
    kind: 'integer',
    env: 'FLAKY_API_PORT',
    default: 8080,
    min: 0,
    max: 65_535,
    description: 'Port to listen on (0 = any free port)',
  },
  'introspection-url': {
    kind: 'string',
    env: 'FLAKY_API_INTROSPECTION_URL',
    required: true,
    description: "The IdP's introspection endpoint",
  },
  'revocation-url': {
    kind: 'string',
    env: 'FLAKY_API_REVOCATION_URL',
    description: "The IdP's revocation endpoint (enables POST /admin/revoke-current-token)",
  },
  'client-id': {
    kind: 'string',
    env: 'FLAKY_API_CLIENT_ID',
    required: true,
    description: "The API's own client id at the IdP",
  },
  'client-secret': {
    kind: 'secret',
    env: 'FLAKY_API_CLIENT_SECRET',
    required: true,
    description: "The API's client secret (prefer the environment variable)",
  },
  'admin-token': {
    kind: 'secret',
    env: 'FLAKY_API_ADMIN_TOKEN',
    required: true,
    description: `Bearer token of the /admin routes, at least ${MIN_ADMIN_TOKEN_LENGTH} characters`,
  },
  profile: {
    kind: 'string',
    env: 'FLAKY_API_PROFILE',
    description:
      'Initial fault profile as JSON, e.g. {"errorRate":0.1,"rateLimitRate":0.05} (default healthy)',
  },
  'required-scope': {
    kind: 'string',
    env: 'FLAKY_API_REQUIRED_SCOPE',
    description: 'Scope a token needs (403 insufficient_scope otherwise)',
  },
  'introspection-cache-ms': {
    kind: 'integer',
    env: 'FLAKY_API_INTROSPECTION_CACHE_MS',
    default: 1_500,
    min: 0,
    max: 60_000,
    description: 'How long an introspection answer is reused, in ms',
  },
  seed: {
    kind: 'integer',
    env: 'FLAKY_API_SEED',
    min: 0,
    max: 2 ** 32 - 1,
    description: 'Seed of the fault RNG, for repeatable runs (default random)',
  },
} as const;

/** `steadfast flaky-api`: the downstream API of the demo, until SIGTERM/SIGINT. */
export const flakyApiCommand: CliCommand = {
  name: 'flaky-api',
  summary: 'Run the downstream weather API that validates tokens and injects faults',
  async run(argv, env) {
    const parsed = parseOptions(OPTIONS, argv, env);
    if (parsed.help) {
      process.stdout.write(
        helpText(
          'steadfast flaky-api [options]',
          'GET /weatherforecast behind bearer-token introspection, with injected faults.\n' +
            'Admin routes (Authorization: Bearer <admin token>): GET|PUT /admin/profile,\n' +
            'POST /admin/revoke-current-token, GET /admin/stats. GET /healthz is open.',
          OPTIONS,
        ),
      );
      return 0;
    }
    const options = parsed.values;
    let profile: FaultProfile | undefined;
    if (options.profile) {
      try {
        profile = faultProfile(JSON.parse(options.profile));
      } catch (error) {
        if (error instanceof SyntaxError || error instanceof InvalidFaultProfileError) {
          throw new UsageError(`--profile/FLAKY_API_PROFILE: ${error.message}`);
        }
        throw error;
      }
    }
    if (options['admin-token'].length < MIN_ADMIN_TOKEN_LENGTH) {
      throw new UsageError(
        `--admin-token/FLAKY_API_ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`,
      );
    }

    const log = logLine('flaky-api');
    const api = await startFlakyApi({
      host: options.host,
      port: options.port,
      introspection: {
        url: options['introspection-url'],
        clientId: options['client-id'],
        clientSecret: options['client-secret'],
        cacheTtlMs: options['introspection-cache-ms'],
      },
      ...(options['revocation-url'] ? { revocationUrl: options['revocation-url'] } : {}),
      adminToken: options['admin-token'],
      ...(profile ? { profile } : {}),
      ...(options['required-scope'] ? { requiredScope: options['required-scope'] } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      log,
    });
    const signal = await shutdownSignal();
    log(`${signal}: stopping (${JSON.stringify(api.stats())})`);
    await api.close();
    return 0;
  },
};
