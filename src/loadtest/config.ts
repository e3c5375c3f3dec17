import type { ClientOptions } from 'steadfast';
import { createClient, isInvalidConfigurationError } from 'steadfast';
import { type OptionValues, parseOptions, UsageError } from '../cli/options.js';
import { checkOverrides, mergeOptions, presetOptions } from './policies.js';
import { parseDuration, parsePhases, parseProfile } from './profiles.js';
import { type LoadtestConfig, type Phase, POLICY_NAMES, type PolicyName } from './types.js';

export const LOADTEST_OPTIONS = {
  target: {
    kind: 'string',
    default: 'demo',
    description: '"demo" (the flaky API and an IdP, started in-process) or a URL to call',
  },
  profile: {
    kind: 'string',
    description:
      'Demo fault profile: healthy, flaky, storm, auth-storm, outage, quota, tail, capacity, overload, or JSON (default flaky)',
  },
  phases: {
    kind: 'string',
    description:
      'Demo profiles over time, e.g. healthy:3s,outage:4s,storm:5s (instead of --profile)',
  },
  policy: {
    kind: 'string',
    choices: POLICY_NAMES,
    description: 'Resilience policy preset (default standard)',
  },
  compare: {
    kind: 'string',
    description: 'Run several presets on the same profile and seed, e.g. none,naive,standard',
  },
  override: {
    kind: 'string',
    description: 'JSON merged into the SDK options of the presets, e.g. {"retry":{"maxRetries":2}}',
  },
  rate: {
    kind: 'number',
    min: 0.1,
    max: 100_000,
    description: 'Open model: calls started per second (default 100)',
  },
  concurrency: {
    kind: 'integer',
    min: 1,
    max: 10_000,
    description: 'Closed model: calls in flight at once',
  },
  duration: { kind: 'string', description: 'How long to start calls, e.g. 10s, 1m (default 10s)' },
  calls: {
    kind: 'integer',
    min: 1,
    max: 10_000_000,
    description: 'How many calls to start (instead of --duration)',
  },
  workers: {
    kind: 'integer',
    default: 1,
    min: 1,
    max: 64,
    description: 'Worker processes sharing the load (> 1 needs --redis)',
  },
  redis: {
    kind: 'string',
    env: 'REDIS_URL',
    description:
      'Redis URL the workers share tokens (and the fleet quota) through, or "private" to start a redis-server for the run',
  },
  'quota-limit': {
    kind: 'number',
    min: 0.1,
    max: 1_000_000,
    description:
      "standard+quota: the API's limit per client id, requests per second (default: the demo profile's quotaPerSecond)",
  },
  seed: {
    kind: 'integer',
    default: 1,
    min: 0,
    max: 2 ** 32 - 1,
    description: 'Seed of faults and jitter',
  },
  'time-factor': {
    kind: 'number',
    default: 0.1,
    min: 0.001,
    max: 1,
    description: 'Scales backoff, naive delays and breaker break time so runs stay short',
  },
  'max-inflight': {
    kind: 'integer',
    default: 5_000,
    min: 1,
    max: 1_000_000,
    description: 'Open model: skip a call when this many are running',
  },
  out: {
    kind: 'string',
    default: 'reports',
    description: 'Directory of the JSON and HTML reports',
  },
  name: {
    kind: 'string',
    description: 'Base name of the report files (default loadtest-<time>-<policies>)',
  },
  progress: {
    kind: 'string',
    default: 'auto',
    choices: ['auto', 'plain', 'off'],
    description: 'Live progress on stderr',
  },
  'token-url': {
    kind: 'string',
    description: 'URL target: OAuth2 token endpoint (client credentials)',
  },
  'client-id': { kind: 'string', description: 'URL target: OAuth2 client id' },
  'client-secret': {
    kind: 'secret',
    env: 'LOADTEST_CLIENT_SECRET',
    description: 'URL target: OAuth2 client secret',
  },
  scope: { kind: 'string', description: 'URL target: OAuth2 scope' },
} as const;

type Values = OptionValues<typeof LOADTEST_OPTIONS>;

/** Parse and check `steadfast loadtest` arguments; every refusal names the flag. */
export function parseLoadtestArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  now: Date = new Date(),
): { help: true } | { help: false; config: LoadtestConfig } {
  const parsed = parseOptions(LOADTEST_OPTIONS, argv, env);
  if (parsed.help) return { help: true };
  return { help: false, config: toConfig(parsed.values, now) };
}

function toConfig(v: Values, now: Date): LoadtestConfig {
  if (v.rate !== undefined && v.concurrency !== undefined) {
    throw new UsageError('--rate (open model) and --concurrency (closed model) exclude each other');
  }
  const model: LoadtestConfig['model'] =
    v.concurrency !== undefined
      ? { kind: 'closed', concurrency: v.concurrency }
      : { kind: 'open', ratePerSecond: v.rate ?? 100 };

  if (v.duration !== undefined && v.calls !== undefined) {
    throw new UsageError('--duration and --calls exclude each other: say how long, or how many');
  }
  let durationMs: number | undefined;
  if (v.calls === undefined) {
    try {
      durationMs = parseDuration(v.duration ?? '10s');
    } catch (error) {
      throw new UsageError(`--duration: ${(error as Error).message}`);
    }
    if (durationMs < 100 || durationMs > 24 * 3600 * 1000) {
      throw new UsageError(`--duration must be between 100ms and 24h, got ${v.duration}`);
    }
  }
  const plannedMs =
    durationMs ?? (model.kind === 'open' ? (1000 * v.calls!) / model.ratePerSecond : undefined);

  const policies = parsePolicies(v.policy, v.compare);

  const target = parseTarget(v, plannedMs);

  let overrides: Record<string, unknown> = {};
  if (v.override !== undefined) {
    try {
      const parsed: unknown = JSON.parse(v.override);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('must be a JSON object');
      overrides = parsed as Record<string, unknown>;
    } catch (error) {
      throw new UsageError(`--override: ${(error as Error).message}`);
    }
    if (policies.every((p) => p === 'naive')) {
      throw new UsageError('--override applies to the SDK presets; "naive" has no options');
    }
    checkSdkOptions(policies, overrides, v['time-factor'], v['quota-limit']);
  }

  if (v.workers > 1) {
    if (!v.redis && policies.some((p) => p !== 'naive')) {
      throw new UsageError(
        '--workers > 1 needs --redis URL (or REDIS_URL), or --redis private to start one: worker processes share the token through Redis',
      );
    }
    if (model.kind === 'closed' && model.concurrency < v.workers) {
      throw new UsageError(
        `--concurrency (${model.concurrency}) must be at least --workers (${v.workers})`,
      );
    }
    if (v.calls !== undefined && v.calls < v.workers) {
      throw new UsageError(`--calls (${v.calls}) must be at least --workers (${v.workers})`);
    }
  }
  const privateRedis = v.redis === 'private';
  if (v.redis !== undefined && !privateRedis && !/^rediss?:\/\//.test(v.redis)) {
    throw new UsageError(
      `--redis must be a redis:// or rediss:// URL, or "private", got "${v.redis}"`,
    );
  }
  const quotaLimit = parseQuotaLimit(v['quota-limit'], policies, target);

  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const reportName = v.name ?? `loadtest-${stamp}-${policies.join('-').replace(/\+/g, '-')}`;
  if (!/^[A-Za-z0-9._-]{1,120}$/.test(reportName)) {
    throw new UsageError('--name may only hold letters, digits, ".", "_" and "-"');
  }

  return {
    target,
    model,
    durationMs,
    calls: v.calls,
    policies,
    overrides,
    timeFactor: v['time-factor'],
    seed: v.seed,
    workers: v.workers,
    redisUrl: privateRedis ? undefined : v.redis,
    privateRedis,
    quotaLimit,
    maxInflight: v['max-inflight'],
    outDir: v.out,
    reportName,
    progress: v.progress as LoadtestConfig['progress'],
  };
}

/**
 * The `standard+quota` policy's limit: `--quota-limit`, else the quota of the demo profile
 * (the same in every phase that has one). Undefined when that policy does not run.
 */
function parseQuotaLimit(
  flag: number | undefined,
  policies: readonly PolicyName[],
  target: LoadtestConfig['target'],
): number | undefined {
  if (!policies.includes('standard+quota')) {
    if (flag !== undefined) {
      throw new UsageError('--quota-limit is for the standard+quota policy, which does not run');
    }
    return undefined;
  }
  if (flag !== undefined) return flag;
  const limits =
    target.kind === 'demo'
      ? [...new Set(target.phases.map((p) => p.profile.quotaPerSecond ?? 0).filter((q) => q > 0))]
      : [];
  if (limits.length === 1) return limits[0];
  throw new UsageError(
    limits.length === 0
      ? "standard+quota needs the API's limit: --quota-limit N, or a demo profile with a quota (--profile quota)"
      : `the phases have different quotas (${limits.join(', ')}); pick the policy's with --quota-limit`,
  );
}

function parsePolicies(policy: string | undefined, compare: string | undefined): PolicyName[] {
  if (policy !== undefined && compare !== undefined) {
    throw new UsageError('--policy and --compare exclude each other (put the policy in the list)');
  }
  if (compare === undefined) return [(policy ?? 'standard') as PolicyName];
  const names = compare.split(',').map((p) => p.trim());
  for (const name of names) {
    if (!(POLICY_NAMES as readonly string[]).includes(name)) {
      throw new UsageError(`--compare: unknown policy "${name}"; use ${POLICY_NAMES.join(', ')}`);
    }
  }
  if (names.length < 2)
    throw new UsageError('--compare needs at least two policies, e.g. none,standard');
  if (new Set(names).size !== names.length) throw new UsageError('--compare lists a policy twice');
  return names as PolicyName[];
}

function parseTarget(v: Values, plannedMs: number | undefined): LoadtestConfig['target'] {
  if (v.target === 'demo') {
    for (const flag of ['token-url', 'client-id', 'client-secret', 'scope'] as const) {
      if (v[flag] !== undefined) {
        throw new UsageError(`--${flag} is for a URL target; the demo brings its own IdP`);
      }
    }
    if (v.profile !== undefined && v.phases !== undefined) {
      throw new UsageError(
        '--profile and --phases exclude each other (a phase list names profiles)',
      );
    }
    let phases: Phase[];
    try {
      phases =
        v.phases !== undefined
          ? parsePhases(v.phases, plannedMs)
          : [
              {
                profile: parseProfile(v.profile ?? 'flaky'),
                startMs: 0,
                durationMs: plannedMs ?? Number.POSITIVE_INFINITY,
              },
            ];
    } catch (error) {
      throw new UsageError(
        `--${v.phases !== undefined ? 'phases' : 'profile'}: ${(error as Error).message}`,
      );
    }
    const last = phases[phases.length - 1]!;
    if (plannedMs !== undefined && last.startMs >= plannedMs) {
      throw new UsageError(
        `--phases: the last phase starts at ${last.startMs / 1000} s but the run lasts ${plannedMs / 1000} s; shorten the phases or lengthen --duration`,
      );
    }
    return { kind: 'demo', phases };
  }
  let url: URL;
  try {
    url = new URL(v.target);
  } catch {
    throw new UsageError(`--target must be "demo" or an absolute http(s) URL, got "${v.target}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--target must use http: or https:, got ${url.protocol}`);
  }
  if (v.profile !== undefined || v.phases !== undefined) {
    throw new UsageError(
      '--profile and --phases drive the demo API; they do nothing for a URL target',
    );
  }
  const authFlags = [v['token-url'], v['client-id'], v['client-secret']];
  if (authFlags.some((f) => f !== undefined) && authFlags.some((f) => f === undefined)) {
    throw new UsageError(
      '--token-url, --client-id and --client-secret go together (the secret may come from LOADTEST_CLIENT_SECRET)',
    );
  }
  return {
    kind: 'url',
    url: url.href,
    ...(v['token-url'] !== undefined
      ? {
          auth: {
            tokenUrl: v['token-url'],
            clientId: v['client-id']!,
            clientSecret: v['client-secret']!,
            ...(v.scope !== undefined ? { scope: v.scope } : {}),
          },
        }
      : {}),
  };
}

/** Build (and close) each SDK client once, so a bad override fails now, naming the option. */
function checkSdkOptions(
  policies: readonly PolicyName[],
  overrides: Record<string, unknown>,
  timeFactor: number,
  quotaLimit: number | undefined,
): void {
  try {
    checkOverrides(overrides);
    for (const policy of policies) {
      if (policy === 'naive') continue;
      const options = mergeOptions(
        {
          name: 'loadtest-check',
          telemetry: { metrics: false, tracing: false },
          ...presetOptions(policy, timeFactor, Math.random, {
            key: 'loadtest-check',
            limitPerSecond: quotaLimit ?? 1,
          }),
        },
        overrides,
      ) as unknown as ClientOptions;
      void createClient(options).close();
    }
  } catch (error) {
    if (isInvalidConfigurationError(error)) throw new UsageError(`--override: ${error.message}`);
    throw error;
  }
}
