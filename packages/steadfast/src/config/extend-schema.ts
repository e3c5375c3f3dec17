import { tokenSchema } from '../auth/options-schema.js';
import { clientSchema } from './client-schema.js';
import { callRetrySchema } from './request-schema.js';
import { optionalSection, optionsObject, withoutDefault } from './schema.js';

/**
 * The options of `client.extend(options)`, declared once: `ExtendOptions`
 * (config/extend-options.ts) is generated from this file by `npm run generate:options`.
 * Only the defaults a call is created with may differ from the parent's; what the pipeline
 * is built from — `name` (the `client` label), `auth`, `authOrigins`, `concurrency`,
 * `circuitBreaker`, `transport`, `telemetry`, `chaos`, `bodyTimeoutMs` — is the parent's.
 */

const { baseUrl, headers, hooks, totalTimeoutMs, attemptTimeoutMs, maxResponseBytes } =
  clientSchema.entries;
const parents = (name: string) => `the parent's \`${name}\``;

export const extendSchema = optionsObject(
  'ExtendOptions',
  "The defaults a derived client (`client.extend(options)`) changes for its calls. It shares its parent's pipeline — pools, breakers, concurrency limit, token and its origins, telemetry and `client` label — so only these may differ; every other option is the parent's.",
  {
    baseUrl: withoutDefault(
      baseUrl,
      "the parent's `baseUrl`. The token still goes only to the parent's `baseUrl` origin and `authOrigins`",
    ),
    headers: withoutDefault(headers, "the parent's `headers`, these merged over them"),
    hooks,
    retry: optionalSection(callRetrySchema, parents('retry')),
    totalTimeoutMs: withoutDefault(totalTimeoutMs, parents('totalTimeoutMs')),
    attemptTimeoutMs: withoutDefault(
      attemptTimeoutMs,
      "the parent's `attemptTimeoutMs`, or this `totalTimeoutMs` when that is shorter",
    ),
    maxResponseBytes: withoutDefault(maxResponseBytes, parents('maxResponseBytes')),
    token: optionalSection(
      tokenSchema,
      "the parent's `token` (the credential's own token for a client made by `createClient`); `false`: the credential's own",
    ),
  },
);

/** The options of `createClient` a derived client takes from its parent as they are. */
export const SHARED_WITH_PARENT: ReadonlySet<string> = new Set(
  Object.keys(clientSchema.entries).filter((key) => !(key in extendSchema.entries)),
);
