// Writes the documented option interfaces (ClientOptions, ClientCredentialsOptions,
// RedisTokenStoreOptions, StartTelemetryOptions, ...) from the options schemas, so each
// option's type, default and prose are written once, in its schema. The TSDoc
// `@defaultValue` of every option comes from the schema's default.
//
//   node --import tsx scripts/generate-options.ts          # rewrite the files
//   node --import tsx scripts/generate-options.ts --check  # fail if one is stale
//
// test/steadfast/config/generated-options.test.ts runs the check.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { redisTokenStoreOptionsSchema } from '../packages/redis/src/options-schema.js';
import { dpopSchema } from '../packages/steadfast/src/auth/dpop/dpop-options.js';
import {
  clientCredentialsSchema,
  tokenSchema,
} from '../packages/steadfast/src/auth/options-schema.js';
import {
  adaptiveConcurrencySchema,
  adaptiveThrottleSchema,
} from '../packages/steadfast/src/config/adaptive-schema.js';
import {
  cooldownSchema,
  quotaSchema,
  rateLimitSchema,
} from '../packages/steadfast/src/config/admission-schema.js';
import {
  chaosSchema,
  circuitBreakerSchema,
  clientSchema,
  closeSchema,
  concurrencySchema,
  hooksSchema,
  retryBudgetSchema,
  retrySchema,
  transportSchema,
} from '../packages/steadfast/src/config/client-schema.js';
import { extendSchema } from '../packages/steadfast/src/config/extend-schema.js';
import {
  fallbackSchema,
  serveStaleSchema,
} from '../packages/steadfast/src/config/fallback-schema.js';
import {
  hedgingBudgetSchema,
  hedgingDelaySchema,
  hedgingSchema,
} from '../packages/steadfast/src/config/hedging-schema.js';
import { callRetrySchema, callSchema } from '../packages/steadfast/src/config/request-schema.js';
import {
  type AnyOptionsObject,
  type DescribedOption,
  describeOptions,
} from '../packages/steadfast/src/config/schema.js';
import {
  metricsSchema,
  otelMetricsSchema,
  telemetrySchema,
  tracingSchema,
} from '../packages/steadfast/src/telemetry/options.js';
import { metricsRouterSchema } from '../packages/steadfast/src/telemetry/router.js';
import { startTelemetryOptionsSchema } from '../packages/telemetry-node/src/start-options.js';

/** One generated file: the interfaces of `schemas`, after `prelude` and before `postlude`. */
export interface OptionsFile {
  /** Path from the repository root. */
  readonly path: string;
  readonly prelude: string;
  readonly schemas: readonly AnyOptionsObject[];
  readonly postlude?: string;
}

export const OPTIONS_FILES: readonly OptionsFile[] = [
  {
    path: 'packages/steadfast/src/config/options.ts',
    prelude: [
      "import type { Dispatcher } from 'undici';",
      "import type { Authorization } from '../auth/types.js';",
      "import type { CallContext, Outcome } from '../pipeline/types.js';",
      "import type { AdaptiveConcurrencyOptions } from '../strategies/adaptive-concurrency/options.js';",
      "import type { AdaptiveThrottleOptions } from '../strategies/adaptive-throttle/options.js';",
      "import type { ChaosOptions } from '../strategies/chaos/types.js';",
      "import type { CooldownOptions } from '../strategies/cooldown/options.js';",
      "import type { FallbackOptions } from '../strategies/fallback/options.js';",
      "import type { QuotaOptions } from '../strategies/fleet-quota/options.js';",
      "import type { HedgingOptions } from '../strategies/hedging/options.js';",
      'import type {',
      '  AfterResponseHook,',
      '  BeforeErrorHook,',
      '  BeforeRequestHook,',
      '  BeforeRetryHook,',
      "} from '../strategies/hooks/types.js';",
      "import type { RateLimitOptions } from '../strategies/rate-limit/options.js';",
      "import type { TelemetryOptions } from '../telemetry/types.js';",
      "import type { BackoffKind } from './resolved.js';",
      '',
      "export type { BackoffKind, ResolvedOptions } from './resolved.js';",
    ].join('\n'),
    schemas: [
      retryBudgetSchema,
      retrySchema,
      circuitBreakerSchema,
      concurrencySchema,
      transportSchema,
      hooksSchema,
      clientSchema,
      closeSchema,
    ],
  },
  {
    path: 'packages/steadfast/src/config/request-options.ts',
    prelude: [
      "import type { CallContext, Outcome } from '../pipeline/types.js';",
      "import type { SearchParamsInput } from './request-schema.js';",
      "import type { BackoffKind } from './resolved.js';",
    ].join('\n'),
    schemas: [callRetrySchema, tokenSchema, callSchema],
  },
  {
    path: 'packages/steadfast/src/config/extend-options.ts',
    prelude: [
      "import type { ClientHooks } from './options.js';",
      "import type { CallRetryOptions, TokenOptions } from './request-options.js';",
    ].join('\n'),
    schemas: [extendSchema],
  },
  {
    path: 'packages/steadfast/src/strategies/chaos/options.ts',
    prelude: '',
    schemas: [chaosSchema],
  },
  {
    path: 'packages/steadfast/src/strategies/rate-limit/options.ts',
    prelude: [
      "import type { CallContext } from '../../pipeline/types.js';",
      '',
      '/** How the in-process rate limiter counts. */',
      "export type RateLimitAlgorithm = 'token_bucket' | 'sliding_window' | 'fixed_window';",
    ].join('\n'),
    schemas: [rateLimitSchema],
  },
  {
    path: 'packages/steadfast/src/strategies/fleet-quota/options.ts',
    prelude: [
      "import type { CallContext } from '../../pipeline/types.js';",
      "import type { QuotaStore } from './store.js';",
    ].join('\n'),
    schemas: [quotaSchema],
  },
  {
    path: 'packages/steadfast/src/strategies/cooldown/options.ts',
    prelude: [
      "import type { CallContext } from '../../pipeline/types.js';",
      "import type { CooldownStore } from './store.js';",
    ].join('\n'),
    schemas: [cooldownSchema],
  },
  {
    path: 'packages/steadfast/src/strategies/adaptive-concurrency/options.ts',
    prelude: [
      '/** The algorithm that moves an adaptive concurrency limit. */',
      "export type AdaptiveAlgorithm = 'gradient' | 'aimd';",
    ].join('\n'),
    schemas: [adaptiveConcurrencySchema],
  },
  {
    path: 'packages/steadfast/src/strategies/adaptive-throttle/options.ts',
    prelude: '',
    schemas: [adaptiveThrottleSchema],
  },
  {
    path: 'packages/steadfast/src/strategies/fallback/options.ts',
    prelude: [
      "import type { FallbackTrigger } from '../../config/fallback-schema.js';",
      "import type { CallContext, Outcome } from '../../pipeline/types.js';",
    ].join('\n'),
    schemas: [serveStaleSchema, fallbackSchema],
  },
  {
    path: 'packages/steadfast/src/strategies/hedging/options.ts',
    prelude: [
      "import type { CallContext } from '../../pipeline/types.js';",
      '',
      '/** How the attempts of a call are spread over an endpoint group. */',
      "export type HedgingRouting = 'ordered' | 'weighted';",
      '',
      '/** One endpoint of a group: an origin (`https://eu.api.example`), or an origin and its weight. */',
      'export type HedgingEndpoint = string | { readonly url: string; readonly weight?: number };',
    ].join('\n'),
    schemas: [hedgingDelaySchema, hedgingBudgetSchema, hedgingSchema],
  },
  {
    path: 'packages/steadfast/src/telemetry/telemetry-options.ts',
    prelude: [
      "import type { MeterProvider, TracerProvider } from '@opentelemetry/api';",
      "import type { MetricsRegistry } from './types.js';",
    ].join('\n'),
    schemas: [tracingSchema, metricsSchema, otelMetricsSchema, telemetrySchema],
  },
  {
    path: 'packages/steadfast/src/telemetry/router-options.ts',
    prelude: "import type { MetricsRegistry } from './types.js';",
    schemas: [metricsRouterSchema],
  },
  {
    path: 'packages/steadfast/src/auth/options.ts',
    prelude: [
      "import type { Dispatcher } from 'undici';",
      "import type { TokenStore } from './store/types.js';",
      "import type { ClientCertificate } from './client-certificate.js';",
      "import type { ClientAssertionAlgorithm, ClientSigningKey } from './client-key.js';",
      "import type { ClientAuthMethod } from './token-endpoint.js';",
      '',
      'export {',
      '  CLIENT_CREDENTIALS_DEFAULTS,',
      '  type NormalizedClientCredentials,',
      '  normalizeClientCredentials,',
      "} from './options-schema.js';",
    ].join('\n'),
    schemas: [dpopSchema, clientCredentialsSchema],
  },
  {
    path: 'packages/redis/src/options.ts',
    prelude: [
      "import type { ConnectionOptions } from 'node:tls';",
      "import type { Cluster, Redis } from 'ioredis';",
      '',
      "export { MAX_DB, type RedisStoreSettings, redisStoreSettings } from './options-schema.js';",
    ].join('\n'),
    schemas: [redisTokenStoreOptionsSchema],
  },
  {
    path: 'packages/telemetry-node/src/start-options-types.ts',
    prelude: ["import type { NodeSDKConfiguration } from '@opentelemetry/sdk-node';"].join('\n'),
    schemas: [startTelemetryOptionsSchema],
  },
];

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIOME = `${ROOT}node_modules/.bin/biome`;

const HEADER = (path: string) =>
  `// Generated from the options schemas by scripts/generate-options.ts: do not edit.\n// Change an option (its type, default, range or prose) in its schema, then run\n// \`npm run generate:options\`. (${path.split('/').pop()})\n`;

/** The text of one generated file, formatted the way `biome check --write` leaves it. */
export function renderOptionsFile(file: OptionsFile): string {
  const parts = [HEADER(file.path), file.prelude, ...file.schemas.map(renderInterface)];
  if (file.postlude) parts.push(file.postlude);
  return execFileSync(BIOME, ['check', '--write', `--stdin-file-path=${file.path}`], {
    cwd: ROOT,
    input: `${parts.join('\n\n')}\n`,
    encoding: 'utf8',
  });
}

function renderInterface(schema: AnyOptionsObject): string {
  const { meta, options } = describeOptions(schema);
  const members = options.map(renderMember).join('\n');
  return `${comment(meta.doc, [], '')}\nexport interface ${meta.interfaceName} {\n${members}\n}`;
}

function renderMember(option: DescribedOption): string {
  const type = option.canBeTrue
    ? `${option.type} | boolean`
    : option.canBeOff
      ? `${option.type} | false`
      : option.type;
  const tags = option.optional ? [`@defaultValue ${defaultText(option)}`] : [];
  const doc = option.canBeTrue
    ? `${option.doc} \`true\` or an object turns it on, \`false\` keeps it off.`
    : option.canBeOff
      ? `${option.doc} \`false\` turns it off.`
      : option.doc;
  return `${comment(doc, tags, '  ')}\n  readonly ${option.key}${option.optional ? '?' : ''}: ${type};`;
}

/** The default as the TSDoc says it: from the schema, with the unit its name gives. */
export function defaultText(option: DescribedOption): string {
  if (option.defaultText !== undefined) return option.defaultText;
  const value = option.default;
  if (option.section) {
    return value === false
      ? 'off'
      : `on, with the defaults of {@link ${option.section ? describeOptions(option.section).meta.interfaceName : ''}}`;
  }
  if (value === undefined) return 'none';
  if (typeof value === 'number') return numberText(option.key, value);
  return `\`${JSON.stringify(value).replaceAll('"', "'")}\``;
}

function numberText(key: string, value: number): string {
  const shown = `\`${Number.isInteger(value) ? grouped(value) : value}\``;
  if (key.endsWith('Ms')) return value === 0 ? shown : `${shown} (${duration(value)})`;
  if (key.endsWith('Bytes') && value >= 1024) return `${shown} (${bytes(value)})`;
  if (key.endsWith('Ratio') || key === 'ratio') return `${shown} (${+(value * 100).toFixed(4)} %)`;
  return shown;
}

const grouped = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '_');

function duration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1000, 's'],
  ];
  for (const [size, unit] of units)
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`;
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}

function bytes(n: number): string {
  for (const [size, unit] of [
    [2 ** 30, 'GiB'],
    [2 ** 20, 'MiB'],
    [2 ** 10, 'KiB'],
  ] as const) {
    if (n % size === 0) return `${n / size} ${unit}`;
  }
  return `${n} bytes`;
}

function comment(doc: string, tags: readonly string[], indent: string): string {
  const lines = [...wrap(doc, 96 - indent.length), ...(tags.length ? ['', ...tags] : [])];
  if (lines.length === 1 && `${indent}/** ${lines[0]} */`.length <= 100) {
    return `${indent}/** ${lines[0]} */`;
  }
  return [
    `${indent}/**`,
    ...lines.map((l) => (l ? `${indent} * ${l}` : `${indent} *`)),
    `${indent} */`,
  ].join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** The generated files that differ from what the schemas give now. */
export function staleOptionsFiles(): string[] {
  return OPTIONS_FILES.filter((file) => {
    let current = '';
    try {
      current = readFileSync(ROOT + file.path, 'utf8');
    } catch {
      // a missing file is stale
    }
    return current !== renderOptionsFile(file);
  }).map((file) => file.path);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--check')) {
    const stale = staleOptionsFiles();
    if (stale.length > 0) {
      console.error(
        `stale, run node --import tsx scripts/generate-options.ts: ${stale.join(', ')}`,
      );
      process.exit(1);
    }
  } else {
    for (const file of OPTIONS_FILES) writeFileSync(ROOT + file.path, renderOptionsFile(file));
  }
}
