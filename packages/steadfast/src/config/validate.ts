import { seededRandom } from '../pipeline/seeded-random.js';
import type { WireHeaders } from '../pipeline/types.js';
import { processCooldownStore } from '../strategies/cooldown/memory-store.js';
import { isCooldownStore } from '../strategies/cooldown/store.js';
import { processQuotaStore } from '../strategies/fleet-quota/memory-store.js';
import { isQuotaStore } from '../strategies/fleet-quota/store.js';
import { resolveHooks } from '../strategies/hooks/run.js';
import { clientSchema } from './client-schema.js';
import { resolveHedging } from './hedging-schema.js';
import type { ClientOptions, ResolvedOptions } from './options.js';
import { parseOptions } from './schema.js';

export { MAX_RESPONSE_BYTES_RULE } from './client-schema.js';

/**
 * Validate `createClient` options once and fill in defaults (config/client-schema.ts).
 * Every failure names the field and the rule. Nothing is normalised per call after this.
 */
export function resolveOptions(input: ClientOptions): ResolvedOptions {
  const options = parseOptions(clientSchema, attemptWithinTotal(input));
  const baseUrl = options.baseUrl === undefined ? undefined : new URL(options.baseUrl);
  const base = baseUrl ? [baseUrl.origin] : [];
  const { retry, chaos, quota, cooldown } = options;
  const hedging = options.hedging && resolveHedging(options.hedging);
  const tokenOrigins = new Set([...base, ...(options.authOrigins ?? []).map(originOf)]);
  // An endpoint group is replicas of one API, the user said so by listing them: when one of
  // them may have the token, all of them may (a hedge to a replica carries its own), and
  // each is a known `server_address` label value.
  const endpoints = hedging ? hedging.endpoints.map((e) => e.origin) : [];
  if (endpoints.some((origin) => tokenOrigins.has(origin)))
    for (const origin of endpoints) tokenOrigins.add(origin);
  // Quotas and cooldowns are shared where the tokens are, when that store can hold them.
  const authStore: unknown = options.auth?.store;
  if (retry) retry.random ??= Math.random;
  // The parsed object is ours (valibot builds a new one): finish it in place rather than
  // spreading it into another, which costs more than the validation itself.
  return Object.assign(options, {
    baseUrl,
    auth: options.auth,
    authOrigins: tokenOrigins,
    telemetry: options.telemetry as ResolvedOptions['telemetry'],
    origins: [...new Set([...base, ...(options.origins ?? []).map(originOf), ...endpoints])],
    chaos: chaos && {
      ...chaos,
      header: chaos.header === false ? false : chaos.header.toLowerCase(),
      random: chaos.random ?? seededRandom(chaos.seed ?? Math.floor(Math.random() * 2 ** 32)),
    },
    headers: lowerCased(options.headers),
    hooks: resolveHooks(options.hooks),
    quota: quota && {
      ...quota,
      store: quota.store ?? (isQuotaStore(authStore) ? authStore : processQuotaStore),
    },
    cooldown: cooldown && {
      ...cooldown,
      key: cooldown.key ?? options.name,
      store: cooldown.store ?? (isCooldownStore(authStore) ? authStore : processCooldownStore),
    },
    hedging,
  }) as ResolvedOptions;
}

const originOf = (url: string) => new URL(url).origin;

/** The schema's default attempt timeout (read from the schema: written once). */
const DEFAULT_ATTEMPT_TIMEOUT_MS: number = parseOptions(
  clientSchema.entries.attemptTimeoutMs,
  undefined,
);

/**
 * An attempt never outlasts its call: options that shorten `totalTimeoutMs` below the
 * default attempt timeout, without an `attemptTimeoutMs` of their own, get attempts as long
 * as the call, instead of an error about an option they never set. An `attemptTimeoutMs`
 * given is checked as given.
 */
export function attemptWithinTotal<
  T extends { totalTimeoutMs?: unknown; attemptTimeoutMs?: unknown },
>(input: T, defaultAttemptMs: number = DEFAULT_ATTEMPT_TIMEOUT_MS): T {
  if (input === null || typeof input !== 'object') return input;
  const { totalTimeoutMs, attemptTimeoutMs } = input;
  if (attemptTimeoutMs !== undefined || typeof totalTimeoutMs !== 'number') return input;
  if (!(totalTimeoutMs > 0 && totalTimeoutMs < defaultAttemptMs)) return input;
  return { ...input, attemptTimeoutMs: totalTimeoutMs };
}

/** Default headers as the wire carries them: lower-case names, frozen; none is `undefined`. */
function lowerCased(
  headers: Readonly<Record<string, string>> | undefined,
): WireHeaders | undefined {
  if (headers === undefined) return undefined;
  const wire: WireHeaders = {};
  for (const [name, value] of Object.entries(headers)) wire[name.toLowerCase()] = value;
  return Object.keys(wire).length > 0 ? Object.freeze(wire) : undefined;
}
